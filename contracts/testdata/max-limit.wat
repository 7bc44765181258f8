;; max-limit: a rules_v1 rule written by hand in WebAssembly text.
;; Payments above the merchant's limit (state key "max", u64 LE, default
;; 1,000,000 base units) are rejected with code 1 and a message; claims get
;; NO_ANSWER; a query returns the limit.
(module
  (import "rules_v1" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)              ;; 128 KiB; the 64 KiB buffer is the second page
  (data (i32.const 0) "max")                ;; the state key
  (data (i32.const 32) "amount too high")   ;; the reject message (15 bytes)
  (func (export "rules_abi_v1"))
  (func (export "rule_buffer") (result i32) (i32.const 65536))
  (func (export "evaluate") (param $entry i32) (param $in_len i32) (result i64)
    (local $max i64)
    ;; limit = state["max"] or the default
    (i64.store (i32.const 16) (i64.const 1000000))
    (drop (call $state_get (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 8)))
    (local.set $max (i64.load (i32.const 16)))
    (if (i32.eq (local.get $entry) (i32.const 1)) ;; payment
      (then
        ;; the amount is a u128 at input offset 32: buffer + 32 (low) and + 40 (high)
        (if (i32.or (i64.ne (i64.load (i32.const 65576)) (i64.const 0))
                    (i64.gt_u (i64.load (i32.const 65568)) (local.get $max)))
          (then
            (i32.store (i32.const 65536) (i32.const 1))                           ;; reason code 1
            (memory.copy (i32.const 65540) (i32.const 32) (i32.const 15))         ;; message
            (return (i64.or (i64.shl (i64.const 19) (i64.const 32)) (i64.const 1))))) ;; REJECT, 19 bytes
        (return (i64.const 0))))                                                  ;; ACCEPT
    (if (i32.eq (local.get $entry) (i32.const 2))
      (then (return (i64.const 12))))                                             ;; claim: NO_ANSWER
    (i64.store (i32.const 65536) (local.get $max))                                ;; query: the limit
    (i64.or (i64.shl (i64.const 8) (i64.const 32)) (i64.const 20)))               ;; OK, 8 bytes
)
