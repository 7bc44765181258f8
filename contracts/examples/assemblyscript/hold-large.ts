// hold-large: payments over 100 units of their asset (100 USD) stay in
// escrow for 30 days (HOLD 2,592,000 s); others are accepted.
import { Entry, Decision, U128, payment, accept, hold, defaultFor } from "../../sdk/assemblyscript/rules";
export { rules_abi_v1, rule_buffer } from "../../sdk/assemblyscript/rules";

const LARGE_UNITS: u64 = 100;
const THIRTY_DAYS: u64 = 30 * 24 * 3600;

export function evaluate(entry: i32, inLen: i32): Decision {
  if (entry != Entry.Payment) return defaultFor(entry);
  if (payment.amount().gt(U128.units(LARGE_UNITS, payment.decimals()))) return hold(THIRTY_DAYS);
  return accept();
}
