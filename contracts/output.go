package contracts

import (
	"encoding/binary"
	"unicode/utf8"
)

// checkOutput applies the rules_v1 output contract: the decision must belong
// to the entry and the output must have the decision's shape. body is the
// call's (a claim's refund is compared with the claimed amount, its first 16
// bytes).
func checkOutput(entry Entry, d Decision, out, body []byte) bool {
	switch entry {
	case EntryPayment:
		switch d {
		case DecisionAccept:
			return len(out) == 0
		case DecisionReject:
			return codeAndMessage(out)
		case DecisionHold:
			return len(out) == 8
		}
	case EntryClaim:
		switch d {
		case DecisionApproveRefund:
			if len(out) == 0 {
				return true
			}
			return len(out) == 16 && u128At(out).Cmp(u128At(body[0:16])) <= 0
		case DecisionDeny:
			return codeAndMessage(out)
		case DecisionNoAnswer:
			return len(out) == 0
		}
	case EntryQuery:
		return d == DecisionOK // any output up to MaxOutput
	}
	return false
}

// codeAndMessage: u32 code then at most MaxMessage bytes of valid UTF-8.
func codeAndMessage(out []byte) bool {
	return len(out) >= 4 && len(out)-4 <= MaxMessage && utf8.Valid(out[4:])
}

// ReasonCode splits a reject (payment) or deny (claim) output into its code
// and message. ok is false for other shapes.
func ReasonCode(out []byte) (code uint32, msg string, ok bool) {
	if !codeAndMessage(out) {
		return 0, "", false
	}
	return binary.LittleEndian.Uint32(out), string(out[4:]), true
}

// HoldSeconds reads a hold output.
func HoldSeconds(out []byte) (uint64, bool) {
	if len(out) != 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(out), true
}

// RefundAmount reads an approve-refund output; full is true when the rule
// approved the whole claimed amount (empty output).
func RefundAmount(out []byte) (amount U128, full bool, ok bool) {
	switch len(out) {
	case 0:
		return U128{}, true, true
	case 16:
		return u128At(out), false, true
	}
	return U128{}, false, false
}
