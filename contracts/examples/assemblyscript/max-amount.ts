// max-amount: rejects payments above the merchant's maximum.
//
// The maximum is read from rule state under the key "max", in either form
// state.getAmount accepts: 16 bytes u128 little-endian in base units, or
// decimal text in whole units of the payment's asset ("10", "12.5").
// Unset: 5 units (5 USD = 5·10^18 base units with 18 decimals).
// Over the maximum: REJECT with code 1. Claims: no answer; queries: empty.
import { Entry, Decision, U128, payment, state, accept, reject, defaultFor } from "../../sdk/assemblyscript/rules";
export { rules_abi_v1, rule_buffer } from "../../sdk/assemblyscript/rules";

const DEFAULT_MAX_UNITS: u64 = 5;
const CODE_OVER_MAX: u32 = 1;

export function evaluate(entry: i32, inLen: i32): Decision {
  if (entry != Entry.Payment) return defaultFor(entry);
  const decimals = payment.decimals();
  const max = state.getAmount("max", decimals, U128.units(DEFAULT_MAX_UNITS, decimals));
  if (payment.amount().gt(max)) return reject(CODE_OVER_MAX, "amount above the merchant's maximum");
  return accept();
}
