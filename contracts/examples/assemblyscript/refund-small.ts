// refund-small: approves a full refund for "not received" claims (reason 2)
// under 5 units of their asset (5 USD); no answer to any other claim, so the
// ledger's ordinary process applies. Payments are accepted.
import { Entry, Decision, ClaimReason, U128, claim, approveRefund, noAnswer, defaultFor } from "../../sdk/assemblyscript/rules";
export { rules_abi_v1, rule_buffer } from "../../sdk/assemblyscript/rules";

const SMALL_UNITS: u64 = 5;

export function evaluate(entry: i32, inLen: i32): Decision {
  if (entry != Entry.Claim) return defaultFor(entry);
  if (claim.reason() == ClaimReason.NotReceived &&
      claim.amount().lt(U128.units(SMALL_UNITS, claim.decimals()))) {
    return approveRefund();
  }
  return noAnswer();
}
