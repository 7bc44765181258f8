// daily-totals: a per-customer daily spending limit.
//
// Payment: the state key payer(20 bytes) ++ day(u64 LE, block time / 86400,
// UTC) holds the payer's total for the day (u128 LE base units). A payment
// that would take the total over the limit is rejected with code 2; an
// accepted one adds its amount. The limit is read from the key "limit" (same
// forms as max-amount's "max"); unset: 50 units (50 USD).
// Query: body = a payer address (20 bytes); answer = today's total (16 bytes
// u128 LE, zero if none). Claims: no answer.
// Totals of past days are left in state (a merchant may delete them).
import {
  Entry, Decision, U128, Key, payment, query, state, blockDay,
  accept, reject, answerU128, defaultFor,
} from "../../sdk/assemblyscript/rules";
export { rules_abi_v1, rule_buffer } from "../../sdk/assemblyscript/rules";

const DEFAULT_LIMIT_UNITS: u64 = 50;
const CODE_OVER_LIMIT: u32 = 2;

function dayKey(payer: usize): Key {
  return new Key().raw(payer, 20).u64(blockDay());
}

export function evaluate(entry: i32, inLen: i32): Decision {
  if (entry == Entry.Payment) {
    const decimals = payment.decimals();
    const limit = state.getAmount("limit", decimals, U128.units(DEFAULT_LIMIT_UNITS, decimals));
    const key = dayKey(payment.payerPtr());
    const total = state.getU128(key);
    const amount = payment.amount();
    // total + amount > limit, without overflowing
    if (amount.gt(limit) || total.gt(limit.sub(amount))) {
      return reject(CODE_OVER_LIMIT, "daily limit reached for this customer");
    }
    state.setU128(key, total.add(amount));
    return accept();
  }
  if (entry == Entry.Query) {
    if (query.bodyLength(inLen) != 20) return answerU128(new U128());
    return answerU128(state.getU128(dayKey(query.bodyPtr())));
  }
  return defaultFor(entry);
}
