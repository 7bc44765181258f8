// SDK self-test rule (not an example): exercises every accessor and host
// function of the AssemblyScript SDK so that contracts/examples/rules_test.go
// can compare it, event by event, with its Go twin
// (contracts/sdk/go/selftest). Built by `make rules` into
// contracts/examples/testdata/sdk-selftest.wasm.
//
// payment: amount 0 → abort(77, "zero amount"); else events describing the
//   input, state writes, then REJECT 7 with an over-long message (cut at 200
//   bytes) — or HOLD 60 when the trust score is 1000.
// claim:   events describing the claim, APPROVE_REFUND of claimed − 1 base unit;
//   reason 6 (other): DENY 5 with a message holding a lone surrogate.
// query:   body "write" tries state_set (traps); body "del" tries state_del
//   (traps); otherwise answers sha256(body) ++ state "k1" ++ getU64("n") as 8
//   bytes ++ getU128("big") as 16 bytes ++ has("gone").
import {
  Entry, Decision, ClaimReason, U128, Key, Ctx, payment, claim, query, state,
  blockHeight, blockTime, blockDay, ruleVersion, abiMinor, ctxGet,
  emit, emitRaw, emitString, abort, sha256,
  reject, hold, deny, approveRefundAmount, answerRaw, utf8Into,
} from "../rules";
export { rules_abi_v1, rule_buffer } from "../rules";

const OUT: usize = memory.data(1024, 16);

function put64(p: usize, v: u64): usize { store<u64>(p, v); return p + 8; }
function put32(p: usize, v: u32): usize { store<u32>(p, v); return p + 4; }
function putRaw(p: usize, src: usize, n: i32): usize { memory.copy(p, src, n); return p + n; }
function putBytes(p: usize, b: Uint8Array): usize { return putRaw(p, b.dataStart, b.length); }

// header event: abi minor, height, time, day, version, ctx_get ×3
function emitHeader(): void {
  let p = OUT;
  p = put32(p, abiMinor());
  p = put64(p, blockHeight());
  p = put64(p, <u64>blockTime());
  p = put64(p, blockDay());
  p = put32(p, ruleVersion());
  p = put64(p, <u64>ctxGet(Ctx.Height));
  p = put64(p, <u64>ctxGet(Ctx.Time));
  p = put64(p, <u64>ctxGet(Ctx.RuleVersion));
  emitRaw(OUT, <i32>(p - OUT));
}

export function evaluate(entry: i32, inLen: i32): Decision {
  if (entry == Entry.Payment) {
    if (payment.amount().isZero()) abort(77, "zero amount");
    emitHeader();
    let p = OUT;
    p = putBytes(p, payment.amount().toBytes());
    store<u8>(p, payment.decimals()); p += 1;
    p = putBytes(p, payment.payer());
    p = putBytes(p, payment.merchant());
    p = put64(p, payment.agent());
    p = put64(p, payment.mandate());
    p = putBytes(p, payment.orderHash());
    p = put32(p, payment.trustScore());
    p = put32(p, payment.trustTier());
    store<u8>(p, payment.assetIs("USD") ? 1 : 0); p += 1;
    store<u8>(p, payment.assetIs("EUR") ? 1 : 0); p += 1;
    emitRaw(OUT, <i32>(p - OUT));
    emitString(payment.asset() + " " + payment.amount().toString() + " " +
      U128.units(3, 2).add(U128.fromU64(4)).mulU64(2).sub(U128.fromU64(8)).toString());
    emit(sha256(payment.orderHash()));

    // state
    const k1 = new Uint8Array(2); k1[0] = 0x6b; k1[1] = 0x31; // "k1"
    const v1 = new Uint8Array(3); v1[0] = 1; v1[1] = 2; v1[2] = 3;
    state.set(k1, v1);
    state.setString("s", "héllo");
    state.setU64("n", state.getU64("n", 40) + 2);
    state.setU128("big", payment.amount().add(state.getU128("big", U128.fromU64(1))));
    state.setU128(new Key().raw(payment.payerPtr(), 20).u64(blockDay()).str("/").u32(9).u8(1), payment.amount());
    state.setU64("gone", 1);
    state.del("gone");
    const got = state.getBytes("s");
    let q = OUT;
    store<u8>(q, state.has("gone") ? 1 : 0); q += 1;
    store<u8>(q, state.has("n") ? 1 : 0); q += 1;
    store<u8>(q, state.getBytes("missing") === null ? 1 : 0); q += 1;
    q = putBytes(q, got !== null ? got : new Uint8Array(0));
    const small = new Uint8Array(2);
    q = put32(q, <u32>state.get("s", small));
    q = putBytes(q, small);
    q = putBytes(q, state.getAmount("amt", 18, U128.fromU64(99)).toBytes());
    emitRaw(OUT, <i32>(q - OUT));

    if (payment.trustScore() == 1000) return hold(60);
    // "x" + 100 × "é" + "yyy" (204 bytes): cut to 199 bytes, not inside the 100th "é"
    let msg = "x";
    for (let i = 0; i < 100; i++) msg += "é";
    msg += "yyy";
    return reject(7, msg);
  }
  if (entry == Entry.Claim) {
    emitHeader();
    let p = OUT;
    p = putBytes(p, claim.amount().toBytes());
    store<u8>(p, claim.decimals()); p += 1;
    p = putBytes(p, claim.payer());
    p = putBytes(p, claim.merchant());
    p = put64(p, claim.agent());
    p = put64(p, claim.payment());
    p = putBytes(p, claim.paymentAmount().toBytes());
    p = put32(p, claim.reason());
    p = put64(p, <u64>claim.capturedAt());
    p = put64(p, claim.number());
    store<u8>(p, claim.assetIs("USD") ? 1 : 0); p += 1;
    emitRaw(OUT, <i32>(p - OUT));
    emitString(claim.asset());
    if (claim.reason() == ClaimReason.Other) return deny(5, "\uD800bad"); // lone surrogate: U+FFFD
    return approveRefundAmount(claim.amount().sub(U128.fromU64(1)));
  }
  // query
  const n = query.bodyLength(inLen);
  const body = query.body(inLen);
  if (n == 5 && load<u8>(query.bodyPtr()) == 0x77) state.setU64("x", 1); // "write"
  if (n == 3 && load<u8>(query.bodyPtr()) == 0x64) state.del("x");      // "del"
  let p = OUT;
  p = putBytes(p, sha256(body));
  const k = new Uint8Array(64);
  const kn = state.get("k1", k);
  if (kn > 0) p = putRaw(p, k.dataStart, kn);
  p = put64(p, state.getU64("n"));
  p = putBytes(p, state.getU128("big").toBytes());
  store<u8>(p, state.has("gone") ? 1 : 0); p += 1;
  p += utf8Into("ok", p, 2);
  return answerRaw(OUT, <i32>(p - OUT));
}
