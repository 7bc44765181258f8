// AMP merchant rules — AssemblyScript SDK for the rules_v1 ABI.
//
// A rule is one entry file that re-exports the ABI markers and exports
// `evaluate`:
//
//   import { Entry, Decision, U128, payment, accept, reject, defaultFor } from "../../sdk/assemblyscript/rules";
//   export { rules_abi_v1, rule_buffer } from "../../sdk/assemblyscript/rules";
//
//   export function evaluate(entry: i32, inLen: i32): Decision {
//     if (entry != Entry.Payment) return defaultFor(entry);
//     if (payment.amount().gt(U128.units(5, payment.decimals()))) return reject(1, "over 5");
//     return accept();
//   }
//
// AssemblyScript exports only what the entry file exports, which is why the
// two markers are re-exported there; `memory` is exported by the compiler.
// Build with: asc rule.ts -O3 --runtime stub --noAssert --use abort= --exportStart _initialize -o rule.wasm
// (the last flag turns the stub runtime's start function into the optional
// _initialize export: the ABI forbids a start section).
//
// The input lives in the I/O buffer (`rule_buffer`): the accessors below read
// it in place and allocate nothing; decision helpers write the output over it,
// so call them last. Only U128 values, `*Bytes()` copies, `Key` and
// `state.getBytes` allocate (the stub runtime never frees; each evaluation
// normally runs in a fresh instance, so this is fine).
// See docs/rules-sdk.md and docs/rules-abi.md.

// ---------------------------------------------------------------- ABI

/** Size of the I/O buffer shared with the host. */
export const BUFFER_SIZE: i32 = 65536;
/** Largest output the host accepts. */
export const MAX_OUTPUT: i32 = 4096;
/** Largest reject/deny message, in UTF-8 bytes (longer ones are cut). */
export const MAX_MESSAGE: i32 = 200;
/** State keys are 1..MAX_KEY bytes, values at most MAX_VALUE bytes. */
export const MAX_KEY: i32 = 64;
export const MAX_VALUE: i32 = 1024;
/** emit(): at most MAX_EVENTS events of at most MAX_EVENT bytes per evaluation. */
export const MAX_EVENTS: i32 = 8;
export const MAX_EVENT: i32 = 256;

/** Which hook the host is calling (`entry` argument of evaluate). */
export enum Entry {
  Payment = 1,
  Claim = 2,
  Query = 3,
}

/** Decision codes (low 32 bits of evaluate's result). */
export enum Outcome {
  Accept = 0,
  Reject = 1,
  Hold = 2,
  ApproveRefund = 10,
  Deny = 11,
  NoAnswer = 12,
  Ok = 20,
}

/** Claim reasons (claim.reason()). */
export enum ClaimReason {
  Unauthorized = 1,
  NotReceived = 2,
  NotAsDescribed = 3,
  Duplicate = 4,
  CanceledByMerchant = 5,
  Other = 6,
}

/** ctx_get fields. */
export enum Ctx {
  Height = 1,
  Time = 2,
  RuleVersion = 3,
}

/** Abort codes the SDK itself uses (rules should use codes >= 0). */
export const ABORT_BAD_STATE: i32 = -1;

/** What evaluate returns: (out_len << 32) | decision. Build it with the helpers below. */
export type Decision = i64;

// The I/O buffer: 64 KiB of zeroed static memory.
const BUF: usize = memory.data(65536, 16);
// Scratch for string keys, values and events (never overlaps the I/O buffer).
const KEYBUF: usize = memory.data(64, 16);
const VALBUF: usize = memory.data(1024, 16);

/** ABI marker (required export). */
export function rules_abi_v1(): void {}

/** Address of the I/O buffer (required export). */
export function rule_buffer(): usize {
  return BUF;
}

/** Address of the I/O buffer, for rules that read or write it by hand. */
// @ts-ignore: decorator
@inline export function bufferPtr(): usize {
  return BUF;
}

// ---------------------------------------------------------------- host imports

// @ts-ignore: decorator
@external("rules_v1", "state_get")
declare function host_state_get(keyPtr: usize, keyLen: i32, valPtr: usize, valCap: i32): i32;
// @ts-ignore: decorator
@external("rules_v1", "state_set")
declare function host_state_set(keyPtr: usize, keyLen: i32, valPtr: usize, valLen: i32): i32;
// @ts-ignore: decorator
@external("rules_v1", "state_del")
declare function host_state_del(keyPtr: usize, keyLen: i32): void;
// @ts-ignore: decorator
@external("rules_v1", "ctx_get")
declare function host_ctx_get(field: i32): i64;
// @ts-ignore: decorator
@external("rules_v1", "emit_event")
declare function host_emit_event(ptr: usize, len: i32): i32;
// @ts-ignore: decorator
@external("rules_v1", "abort")
declare function host_abort(code: i32, msgPtr: usize, msgLen: i32): void;
// @ts-ignore: decorator
@external("rules_v1", "sha256")
declare function host_sha256(ptr: usize, len: i32, outPtr: usize): void;

// ---------------------------------------------------------------- U128

// Result of mul64 (no allocation).
let mulLo: u64 = 0;
let mulHi: u64 = 0;

function mul64(a: u64, b: u64): void {
  const aL = a & 0xffffffff, aH = a >> 32;
  const bL = b & 0xffffffff, bH = b >> 32;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
  mulLo = (ll & 0xffffffff) | (mid << 32);
  mulHi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/**
 * An unsigned 128-bit integer (amounts are u128 base units of their asset).
 * Arithmetic that overflows (or a subtraction that goes below zero) traps.
 */
@final
export class U128 {
  constructor(public lo: u64 = 0, public hi: u64 = 0) {}

  static fromU64(v: u64): U128 {
    return new U128(v, 0);
  }

  /** Reads 16 little-endian bytes at ptr. */
  static load(ptr: usize): U128 {
    return new U128(load<u64>(ptr), load<u64>(ptr, 8));
  }

  /** whole · 10^decimals, e.g. U128.units(5, 18) is 5 USD in base units. */
  static units(whole: u64, decimals: u32): U128 {
    let r = new U128(whole, 0);
    for (let i: u32 = 0; i < decimals; i++) r = r.mulU64(10);
    return r;
  }

  /** Writes 16 little-endian bytes at ptr. */
  store(ptr: usize): void {
    store<u64>(ptr, this.lo);
    store<u64>(ptr, this.hi, 8);
  }

  /** The 16 little-endian bytes. */
  toBytes(): Uint8Array {
    const b = new Uint8Array(16);
    this.store(b.dataStart);
    return b;
  }

  isZero(): bool {
    return (this.lo | this.hi) == 0;
  }

  /** -1, 0 or 1. */
  cmp(o: U128): i32 {
    if (this.hi != o.hi) return this.hi < o.hi ? -1 : 1;
    if (this.lo != o.lo) return this.lo < o.lo ? -1 : 1;
    return 0;
  }
  eq(o: U128): bool { return this.lo == o.lo && this.hi == o.hi; }
  lt(o: U128): bool { return this.cmp(o) < 0; }
  le(o: U128): bool { return this.cmp(o) <= 0; }
  gt(o: U128): bool { return this.cmp(o) > 0; }
  ge(o: U128): bool { return this.cmp(o) >= 0; }

  /** this + o; traps on overflow. */
  add(o: U128): U128 {
    const lo = this.lo + o.lo;
    const carry: u64 = lo < this.lo ? 1 : 0;
    const hi1 = this.hi + o.hi;
    if (hi1 < this.hi) unreachable();
    const hi = hi1 + carry;
    if (hi < hi1) unreachable();
    return new U128(lo, hi);
  }

  /** this - o; traps if o > this. */
  sub(o: U128): U128 {
    if (this.lt(o)) unreachable();
    const borrow: u64 = this.lo < o.lo ? 1 : 0;
    return new U128(this.lo - o.lo, this.hi - o.hi - borrow);
  }

  /** this · m; traps on overflow. */
  mulU64(m: u64): U128 {
    mul64(this.lo, m);
    const lo = mulLo, carry = mulHi;
    mul64(this.hi, m);
    if (mulHi != 0) unreachable();
    const hi = mulLo + carry;
    if (hi < carry) unreachable();
    return new U128(lo, hi);
  }

  /** Decimal string of the base units. */
  toString(): string {
    if (this.hi == 0) return this.lo.toString();
    // Long division by 10^19 with 32-bit limbs.
    let hi = this.hi, lo = this.lo;
    let s = "";
    while (hi != 0) {
      // divide (hi, lo) by 10: limbs hi>>32, hi&m, lo>>32, lo&m
      let r: u64 = 0;
      let l3 = (hi >> 32), l2 = hi & 0xffffffff, l1 = lo >> 32, l0 = lo & 0xffffffff;
      let q3 = l3 / 10; r = l3 % 10;
      let t = (r << 32) | l2; let q2 = t / 10; r = t % 10;
      t = (r << 32) | l1; let q1 = t / 10; r = t % 10;
      t = (r << 32) | l0; let q0 = t / 10; r = t % 10;
      hi = (q3 << 32) | q2;
      lo = (q1 << 32) | q0;
      s = String.fromCharCode(<i32>(48 + r)) + s;
    }
    return lo.toString() + s;
  }
}

// ---------------------------------------------------------------- input

/** Header fields (any entry). */
// @ts-ignore: decorator
@inline export function abiMinor(): u32 { return load<u16>(BUF); }
// @ts-ignore: decorator
@inline export function entryOf(): u32 { return load<u16>(BUF, 2); }
// @ts-ignore: decorator
@inline export function blockHeight(): u64 { return load<u64>(BUF, 8); }
/** Block time, Unix seconds. */
// @ts-ignore: decorator
@inline export function blockTime(): i64 { return load<i64>(BUF, 16); }
/** Binding version of this rule (starts at 1). */
// @ts-ignore: decorator
@inline export function ruleVersion(): u32 { return load<u32>(BUF, 24); }
/** Day index of the block time (Unix seconds / 86400, UTC days). */
// @ts-ignore: decorator
@inline export function blockDay(): u64 { return <u64>(load<i64>(BUF, 16) / 86400); }

function copyOut(ptr: usize, len: i32): Uint8Array {
  const b = new Uint8Array(len);
  memory.copy(b.dataStart, ptr, len);
  return b;
}

/** The 7-byte zero-padded symbol at ptr as a string. */
function symbolAt(ptr: usize): string {
  let n = 0;
  while (n < 7 && load<u8>(ptr + n) != 0) n++;
  return String.UTF8.decodeUnsafe(ptr, n);
}

/** Whether the 7-byte zero-padded symbol at ptr equals an ASCII symbol (no allocation). */
function symbolIs(ptr: usize, sym: string): bool {
  const n = sym.length;
  if (n > 7) return false;
  for (let i = 0; i < 7; i++) {
    const want: u32 = i < n ? <u32>sym.charCodeAt(i) : 0;
    if (<u32>load<u8>(ptr + i) != want) return false;
  }
  return true;
}

/** Payment body (entry 1). */
export namespace payment {
  /** Amount in base units of the asset. */
  export function amount(): U128 { return U128.load(BUF + 32); }
  export function amountLo(): u64 { return load<u64>(BUF, 32); }
  export function amountHi(): u64 { return load<u64>(BUF, 40); }
  /** Decimals of the asset (18 for USD). */
  export function decimals(): u8 { return load<u8>(BUF, 48); }
  export function asset(): string { return symbolAt(BUF + 49); }
  export function assetIs(sym: string): bool { return symbolIs(BUF + 49, sym); }
  /** Payer (the person) address: pointer to 20 bytes in the buffer, or a copy. */
  export function payerPtr(): usize { return BUF + 56; }
  export function payer(): Uint8Array { return copyOut(BUF + 56, 20); }
  export function merchantPtr(): usize { return BUF + 76; }
  export function merchant(): Uint8Array { return copyOut(BUF + 76, 20); }
  /** Agent number n of Agent ID "agent-<n>". */
  export function agent(): u64 { return load<u64>(BUF, 96); }
  export function mandate(): u64 { return load<u64>(BUF, 104); }
  export function orderHashPtr(): usize { return BUF + 112; }
  export function orderHash(): Uint8Array { return copyOut(BUF + 112, 32); }
  /** Agent trust score 0..1000. */
  export function trustScore(): u32 { return load<u32>(BUF, 144); }
  export function trustTier(): u32 { return load<u32>(BUF, 148); }
}

/** Claim body (entry 2). */
export namespace claim {
  /** Claimed amount in base units. */
  export function amount(): U128 { return U128.load(BUF + 32); }
  export function amountLo(): u64 { return load<u64>(BUF, 32); }
  export function amountHi(): u64 { return load<u64>(BUF, 40); }
  export function decimals(): u8 { return load<u8>(BUF, 48); }
  export function asset(): string { return symbolAt(BUF + 49); }
  export function assetIs(sym: string): bool { return symbolIs(BUF + 49, sym); }
  export function payerPtr(): usize { return BUF + 56; }
  export function payer(): Uint8Array { return copyOut(BUF + 56, 20); }
  export function merchantPtr(): usize { return BUF + 76; }
  export function merchant(): Uint8Array { return copyOut(BUF + 76, 20); }
  export function agent(): u64 { return load<u64>(BUF, 96); }
  /** Number of the payment the claim is about. */
  export function payment(): u64 { return load<u64>(BUF, 104); }
  /** Amount of that payment. */
  export function paymentAmount(): U128 { return U128.load(BUF + 112); }
  /** ClaimReason. */
  export function reason(): u32 { return load<u32>(BUF, 128); }
  /** When the payment was captured, Unix seconds. */
  export function capturedAt(): i64 { return load<i64>(BUF, 136); }
  export function number(): u64 { return load<u64>(BUF, 144); }
}

/** Query body (entry 3): the caller's bytes after the header. */
export namespace query {
  export function bodyPtr(): usize { return BUF + 32; }
  export function bodyLength(inLen: i32): i32 { return inLen > 32 ? inLen - 32 : 0; }
  export function body(inLen: i32): Uint8Array { return copyOut(BUF + 32, bodyLength(inLen)); }
}

// ---------------------------------------------------------------- strings

/**
 * Writes s as UTF-8 at dst, at most cap bytes, never splitting a character
 * (lone surrogates become U+FFFD, so the result is always valid UTF-8).
 * Returns the bytes written.
 */
export function utf8Into(s: string, dst: usize, cap: i32): i32 {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = <u32>s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xe000) {
      // a surrogate pair, or a lone surrogate that UTF-8 cannot carry (U+FFFD)
      const c2 = i + 1 < len ? <u32>s.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && c2 >= 0xdc00 && c2 < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) {
      if (n + 1 > cap) break;
      store<u8>(dst + n, c); n += 1;
    } else if (c < 0x800) {
      if (n + 2 > cap) break;
      store<u8>(dst + n, 0xc0 | (c >> 6));
      store<u8>(dst + n + 1, 0x80 | (c & 63)); n += 2;
    } else if (c < 0x10000) {
      if (n + 3 > cap) break;
      store<u8>(dst + n, 0xe0 | (c >> 12));
      store<u8>(dst + n + 1, 0x80 | ((c >> 6) & 63));
      store<u8>(dst + n + 2, 0x80 | (c & 63)); n += 3;
    } else {
      if (n + 4 > cap) break;
      store<u8>(dst + n, 0xf0 | (c >> 18));
      store<u8>(dst + n + 1, 0x80 | ((c >> 12) & 63));
      store<u8>(dst + n + 2, 0x80 | ((c >> 6) & 63));
      store<u8>(dst + n + 3, 0x80 | (c & 63)); n += 4;
    }
  }
  return n;
}

// ---------------------------------------------------------------- state

/** Builds a binary state key (at most 64 bytes), e.g. payer address + day. */
@final
export class Key {
  buf: Uint8Array = new Uint8Array(64);
  len: i32 = 0;

  private room(n: i32): usize {
    if (this.len + n > MAX_KEY) unreachable();
    const p = this.buf.dataStart + this.len;
    this.len += n;
    return p;
  }
  /** Appends n bytes from ptr (e.g. payment.payerPtr(), 20). */
  raw(ptr: usize, n: i32): Key { memory.copy(this.room(n), ptr, n); return this; }
  bytes(b: Uint8Array): Key { return this.raw(b.dataStart, b.length); }
  str(s: string): Key {
    const n = utf8Into(s, this.buf.dataStart + this.len, MAX_KEY - this.len);
    this.len += n;
    return this;
  }
  u8(v: u8): Key { store<u8>(this.room(1), v); return this; }
  u32(v: u32): Key { store<u32>(this.room(4), v); return this; }
  /** Appends v as 8 little-endian bytes. */
  u64(v: u64): Key { store<u64>(this.room(8), v); return this; }
}

// Resolved key of the last keyRef call.
let kPtr: usize = 0;
let kLen: i32 = 0;

function keyRef<K>(key: K): void {
  if (isString<K>()) {
    const s = changetype<string>(key);
    const n = utf8Into(s, KEYBUF, MAX_KEY);
    if (n == 0 || n < String.UTF8.byteLength(s)) unreachable(); // empty or longer than 64 bytes
    kPtr = KEYBUF;
    kLen = n;
  } else if (idof<K>() == idof<Uint8Array>()) {
    const b = changetype<Uint8Array>(key);
    kPtr = b.dataStart;
    kLen = b.length;
  } else if (idof<K>() == idof<Key>()) {
    const k = changetype<Key>(key);
    kPtr = k.buf.dataStart;
    kLen = k.len;
  } else {
    ERROR("state keys are string, Uint8Array or Key");
  }
}

/**
 * The rule's state: a key-value store scoped to the merchant that owns the
 * binding. Keys are a string (UTF-8), a Uint8Array or a Key (1..64 bytes);
 * values are at most 1024 bytes. set/del trap in a query.
 */
export namespace state {
  /** Copies the value into dst (up to its length); returns the value's length or -1 if absent. */
  export function get<K>(key: K, dst: Uint8Array): i32 {
    keyRef<K>(key);
    return host_state_get(kPtr, kLen, dst.dataStart, dst.length);
  }

  /** Same, into raw memory. */
  export function getRaw<K>(key: K, ptr: usize, cap: i32): i32 {
    keyRef<K>(key);
    return host_state_get(kPtr, kLen, ptr, cap);
  }

  /** The value, or null if absent. */
  export function getBytes<K>(key: K): Uint8Array | null {
    keyRef<K>(key);
    const n = host_state_get(kPtr, kLen, VALBUF, MAX_VALUE);
    if (n < 0) return null;
    return copyOut(VALBUF, n);
  }

  export function has<K>(key: K): bool {
    keyRef<K>(key);
    return host_state_get(kPtr, kLen, VALBUF, 0) >= 0;
  }

  export function set<K>(key: K, value: Uint8Array): void {
    keyRef<K>(key);
    host_state_set(kPtr, kLen, value.dataStart, value.length);
  }

  export function setRaw<K>(key: K, ptr: usize, len: i32): void {
    keyRef<K>(key);
    host_state_set(kPtr, kLen, ptr, len);
  }

  export function setString<K>(key: K, value: string): void {
    const n = utf8Into(value, VALBUF, MAX_VALUE);
    keyRef<K>(key);
    host_state_set(kPtr, kLen, VALBUF, n);
  }

  export function del<K>(key: K): void {
    keyRef<K>(key);
    host_state_del(kPtr, kLen);
  }

  /** A u64 stored little-endian (shorter values are zero-extended); def if absent. */
  export function getU64<K>(key: K, def: u64 = 0): u64 {
    keyRef<K>(key);
    store<u64>(VALBUF, 0);
    const n = host_state_get(kPtr, kLen, VALBUF, 8);
    if (n < 0) return def;
    if (n > 8) abort(ABORT_BAD_STATE, "state value is not a u64");
    return load<u64>(VALBUF);
  }

  export function setU64<K>(key: K, v: u64): void {
    store<u64>(VALBUF, v);
    keyRef<K>(key);
    host_state_set(kPtr, kLen, VALBUF, 8);
  }

  /** A u128 stored as 16 little-endian bytes (shorter values are zero-extended); def if absent. */
  export function getU128<K>(key: K, def: U128 | null = null): U128 {
    keyRef<K>(key);
    store<u64>(VALBUF, 0);
    store<u64>(VALBUF, 0, 8);
    const n = host_state_get(kPtr, kLen, VALBUF, 16);
    if (n < 0) return def !== null ? def : new U128();
    if (n > 16) abort(ABORT_BAD_STATE, "state value is not a u128");
    return U128.load(VALBUF);
  }

  export function setU128<K>(key: K, v: U128): void {
    v.store(VALBUF);
    keyRef<K>(key);
    host_state_set(kPtr, kLen, VALBUF, 16);
  }

  /**
   * An amount a merchant stored, in base units of an asset with `decimals`
   * decimals. Two forms are accepted:
   *  - exactly 16 bytes that are not all ASCII digits or '.': a u128
   *    little-endian in base units (what setU128 writes);
   *  - otherwise ASCII decimal text in whole units of the asset, with an
   *    optional fraction: "10", "10.5", "0.25" (at most `decimals` fraction digits).
   * Absent: def. Anything else aborts with ABORT_BAD_STATE.
   */
  export function getAmount<K>(key: K, decimals: u32, def: U128): U128 {
    keyRef<K>(key);
    const n = host_state_get(kPtr, kLen, VALBUF, MAX_VALUE);
    if (n < 0) return def;
    const v = parseAmount(VALBUF, min(n, MAX_VALUE), decimals);
    if (v === null) abort(ABORT_BAD_STATE, "state value is not an amount");
    return changetype<U128>(v);
  }
}

/** Parses an amount value (see state.getAmount); null if malformed. */
export function parseAmount(ptr: usize, len: i32, decimals: u32): U128 | null {
  let text = len > 0;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (!((c >= 48 && c <= 57) || c == 46)) { text = false; break; }
  }
  if (!text) {
    if (len == 16) return U128.load(ptr);
    return null;
  }
  let whole = new U128();
  let frac: u32 = 0;
  let seenDot = false;
  let digits = 0;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c == 46) {
      if (seenDot) return null;
      seenDot = true;
      continue;
    }
    if (seenDot) {
      if (frac >= decimals) return null;
      frac++;
    }
    // whole = whole*10 + digit, returning null rather than trapping on overflow
    if (whole.hi > 0x1999999999999999) return null;
    mul64(whole.lo, 10);
    const lo = mulLo, carry = mulHi;
    const hi = whole.hi * 10 + carry;
    const nlo = lo + <u64>(c - 48);
    const nhi = hi + (nlo < lo ? 1 : 0);
    if (nhi < hi) return null;
    whole = new U128(nlo, nhi);
    digits++;
  }
  if (digits == 0) return null;
  for (let i = frac; i < decimals; i++) {
    if (whole.hi > 0x1999999999999999) return null;
    whole = whole.mulU64(10);
  }
  return whole;
}

// ---------------------------------------------------------------- context, events, abort, hashing

/** ctx_get: Ctx.Height, Ctx.Time or Ctx.RuleVersion (other fields trap). */
export function ctxGet(field: i32): i64 {
  return host_ctx_get(field);
}

/** Emits an event (at most 8 per evaluation, 256 bytes each; beyond traps). */
export function emit(data: Uint8Array): void {
  host_emit_event(data.dataStart, data.length);
}

export function emitRaw(ptr: usize, len: i32): void {
  host_emit_event(ptr, len);
}

/** Emits a UTF-8 text event (cut at 256 bytes). */
export function emitString(s: string): void {
  const n = utf8Into(s, VALBUF, MAX_EVENT);
  host_emit_event(VALBUF, n);
}

/** Ends the evaluation with result class `abort` and this code. Does not return. */
export function abort(code: i32, msg: string = ""): void {
  const n = utf8Into(msg, VALBUF, MAX_MESSAGE);
  host_abort(code, VALBUF, n);
  unreachable();
}

/** SHA-256 of data. */
export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  host_sha256(data.dataStart, data.length, out.dataStart);
  return out;
}

/** SHA-256 of len bytes at ptr, written at out (32 bytes). */
export function sha256Raw(ptr: usize, len: i32, out: usize): void {
  host_sha256(ptr, len, out);
}

// ---------------------------------------------------------------- decisions

// @ts-ignore: decorator
@inline function pack(outLen: i32, outcome: Outcome): Decision {
  return (<i64>outLen << 32) | <i64>outcome;
}

function codeAndMessage(code: u32, msg: string): i32 {
  store<u32>(BUF, code);
  return 4 + utf8Into(msg, BUF + 4, MAX_MESSAGE);
}

/** Payment: accept. */
export function accept(): Decision {
  return pack(0, Outcome.Accept);
}

/** Payment: reject with a rule reason code and an optional message (≤ 200 UTF-8 bytes). */
export function reject(code: u32, msg: string = ""): Decision {
  return pack(codeAndMessage(code, msg), Outcome.Reject);
}

/** Payment: keep the funds in escrow for `seconds` instead of the default window. */
export function hold(seconds: u64): Decision {
  store<u64>(BUF, seconds);
  return pack(8, Outcome.Hold);
}

/** Claim: refund the full claimed amount. */
export function approveRefund(): Decision {
  return pack(0, Outcome.ApproveRefund);
}

/** Claim: refund this amount (must not exceed the claimed amount). */
export function approveRefundAmount(amount: U128): Decision {
  amount.store(BUF);
  return pack(16, Outcome.ApproveRefund);
}

/** Claim: deny with a code and an optional message. */
export function deny(code: u32, msg: string = ""): Decision {
  return pack(codeAndMessage(code, msg), Outcome.Deny);
}

/** Claim: no opinion; the claim follows the ledger's ordinary process. */
export function noAnswer(): Decision {
  return pack(0, Outcome.NoAnswer);
}

/** Query: answer with these bytes (at most 4096). */
export function answer(data: Uint8Array): Decision {
  return answerRaw(data.dataStart, data.length);
}

/** Query: answer with len bytes at ptr (may point into the buffer). */
export function answerRaw(ptr: usize, len: i32): Decision {
  if (len > MAX_OUTPUT) unreachable();
  memory.copy(BUF, ptr, len);
  return pack(len, Outcome.Ok);
}

/** Query: answer with a u128 (16 bytes little-endian). */
export function answerU128(v: U128): Decision {
  v.store(BUF);
  return pack(16, Outcome.Ok);
}

/** Query: answer with a u64 (8 bytes little-endian). */
export function answerU64(v: u64): Decision {
  store<u64>(BUF, v);
  return pack(8, Outcome.Ok);
}

/** Query: answer with UTF-8 text. */
export function answerString(s: string): Decision {
  return pack(utf8Into(s, BUF, MAX_OUTPUT), Outcome.Ok);
}

/** The neutral decision for an entry a rule does not handle: accept a payment, no answer to a claim, an empty answer to a query. */
export function defaultFor(entry: i32): Decision {
  if (entry == Entry.Claim) return noAnswer();
  if (entry == Entry.Query) return pack(0, Outcome.Ok);
  return accept();
}
