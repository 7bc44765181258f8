package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/amp-ledger/amp/chain"
	"github.com/amp-ledger/amp/modules/module"
	"github.com/amp-ledger/amp/modules/params"
)

// Parameter keys of the trust rating.
const (
	// ParamTiers is the tier table: a JSON list of Tier.
	ParamTiers = "trust.tiers"
	// ParamPenaltyHalfLife is the number of days over which each negative
	// factor halves, counted from the latest event of its kind.
	ParamPenaltyHalfLife = "trust.penalty_half_life_days"
	// ParamProbationDays is how long a lost claim or lost channel dispute
	// keeps the agent at least one tier below the tier it held.
	ParamProbationDays = "trust.probation_days"
	// ParamRotationWindow is how many days a key rotation costs points.
	ParamRotationWindow = "trust.rotation_window_days"
	// ParamRescoreInterval is how many blocks pass between two scheduled
	// rescores of an agent (for ageing and decay).
	ParamRescoreInterval = "trust.rescore_interval_blocks"
)

// USDDecimals are the decimals of the reference asset the caps and the
// settled volume are counted in.
const USDDecimals = 18

// MaxTiers bounds the tier table; a tier index fits a byte in the record.
const MaxTiers = 16

// Tier is one row of the tier table as governance sets it. Caps are decimal
// strings of whole USD ("100", "0.5").
type Tier struct {
	Name                string `json:"name"`
	Label               string `json:"label"`
	MinScore            int    `json:"min_score"`
	MinAttestationLevel uint32 `json:"min_attestation_level"`
	MinAgeDays          int64  `json:"min_age_days"`
	MinSettledPayments  uint64 `json:"min_settled_payments"`
	Autonomous          bool   `json:"autonomous"`
	MaxPayment          string `json:"max_payment"`
	MaxDaily            string `json:"max_daily"`
	Channels            bool   `json:"channels"`
}

// DefaultTiers is the genesis tier table unless genesis overrides it.
//
// The gates are what keep a new agent from buying a tier: T2 needs 30 days
// and 25 settled payments, T3 an L2 attestation, 90 days and 250 payments,
// however many points the agent has.
func DefaultTiers() []Tier {
	return []Tier{
		{Name: "T0", Label: "watch-only", MinScore: 0, MaxPayment: "0", MaxDaily: "0"},
		// A newly attested agent may act for people at once, autonomously,
		// but only for small amounts: the mandate's own limits and device
		// approvals do the rest.
		{Name: "T1", Label: "supervised", MinScore: 150, MinAttestationLevel: 1, Autonomous: true, MaxPayment: "100", MaxDaily: "500"},
		{Name: "T2", Label: "limited", MinScore: 450, MinAttestationLevel: 1, MinAgeDays: 30, MinSettledPayments: 25,
			Autonomous: true, MaxPayment: "500", MaxDaily: "2000", Channels: true},
		{Name: "T3", Label: "full", MinScore: 750, MinAttestationLevel: 2, MinAgeDays: 90, MinSettledPayments: 250,
			Autonomous: true, MaxPayment: "10000", MaxDaily: "50000", Channels: true},
	}
}

// Parameter defaults.
const (
	DefaultPenaltyHalfLifeDays = 30
	DefaultProbationDays       = 30
	DefaultRotationWindowDays  = 7
	DefaultRescoreInterval     = 3600 // about an hour at 1 s blocks
)

// tier is a validated row with its caps parsed.
type tier struct {
	Tier
	maxPayment, maxDaily chain.Amount
}

func intParam(min, max int64, unit string) func(json.RawMessage) error {
	return func(raw json.RawMessage) error {
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil || n < min || n > max {
			return fmt.Errorf("want a whole number of %s from %d to %d", unit, min, max)
		}
		return nil
	}
}

func declareParams(ps *params.Keeper) {
	ps.Declare(params.Def{
		Key: ParamTiers, Default: DefaultTiers(),
		Doc: "trust tiers: ascending min_score from 0, gates (min_attestation_level, min_age_days, min_settled_payments) and caps (autonomous, max_payment and max_daily in USD, channels), none decreasing from one tier to the next",
		Validate: func(raw json.RawMessage) error {
			_, err := parseTiers(raw)
			return err
		},
	})
	ps.Declare(params.Def{
		Key: ParamPenaltyHalfLife, Default: DefaultPenaltyHalfLifeDays,
		Doc:      "days over which each negative trust factor halves, counted from the latest event of its kind",
		Validate: intParam(1, 3650, "days"),
	})
	ps.Declare(params.Def{
		Key: ParamProbationDays, Default: DefaultProbationDays,
		Doc:      "days after a lost claim or lost channel dispute during which the agent rates at least one tier below the tier it held",
		Validate: intParam(1, 3650, "days"),
	})
	ps.Declare(params.Def{
		Key: ParamRotationWindow, Default: DefaultRotationWindowDays,
		Doc:      "days a key rotation lowers the trust score (linearly back to nothing); 0 turns the factor off",
		Validate: intParam(0, 365, "days"),
	})
	ps.Declare(params.Def{
		Key: ParamRescoreInterval, Default: DefaultRescoreInterval,
		Doc:      "blocks between two scheduled rescores of an agent, which apply ageing and penalty decay",
		Validate: intParam(1, 1_000_000, "blocks"),
	})
}

// parseTiers decodes and validates a tier table: ascending min_score from
// 0 up to 1000, unique names, and nothing a higher tier grants or requires
// lower than the tier below it, so "the highest tier whose gates pass" is a
// prefix of the table and a better rating never means smaller caps.
func parseTiers(raw json.RawMessage) ([]tier, error) {
	var ts []Tier
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ts); err != nil {
		return nil, chain.Wrapf(ErrInvalidTiers, "%v", err)
	}
	if len(ts) == 0 || len(ts) > MaxTiers {
		return nil, chain.Wrapf(ErrInvalidTiers, "%d tiers, want 1 to %d", len(ts), MaxTiers)
	}
	out := make([]tier, len(ts))
	names := map[string]bool{}
	for i, t := range ts {
		if t.Name == "" || len(t.Name) > 32 || len(t.Label) > 64 {
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %d: name must be 1-32 bytes and label at most 64", i)
		}
		if names[t.Name] {
			return nil, chain.Wrapf(ErrInvalidTiers, "tier name %q used twice", t.Name)
		}
		names[t.Name] = true
		mp, err := chain.ParseDecimal(t.MaxPayment, USDDecimals)
		if err != nil {
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %s max_payment: %v", t.Name, err)
		}
		md, err := chain.ParseDecimal(t.MaxDaily, USDDecimals)
		if err != nil {
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %s max_daily: %v", t.Name, err)
		}
		if mp.Cmp(md) > 0 {
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %s: max_payment %s above max_daily %s", t.Name, t.MaxPayment, t.MaxDaily)
		}
		if t.MinAgeDays < 0 || t.MinAgeDays > 36500 {
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %s: min_age_days %d, want 0 to 36500", t.Name, t.MinAgeDays)
		}
		out[i] = tier{Tier: t, maxPayment: mp, maxDaily: md}
		if i == 0 {
			if t.MinScore != 0 || t.MinAttestationLevel != 0 || t.MinAgeDays != 0 || t.MinSettledPayments != 0 {
				return nil, chain.Wrapf(ErrInvalidTiers, "the first tier is every agent's floor: its min_score and gates must be 0")
			}
			continue
		}
		p := out[i-1]
		switch {
		case t.MinScore <= p.MinScore || t.MinScore > MaxScore:
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %s: min_score %d must be above %d (tier %s) and at most %d", t.Name, t.MinScore, p.MinScore, p.Name, MaxScore)
		case t.MinAttestationLevel < p.MinAttestationLevel || t.MinAgeDays < p.MinAgeDays || t.MinSettledPayments < p.MinSettledPayments:
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %s: a gate is lower than in tier %s", t.Name, p.Name)
		case mp.Cmp(p.maxPayment) < 0 || md.Cmp(p.maxDaily) < 0 || (p.Autonomous && !t.Autonomous) || (p.Channels && !t.Channels):
			return nil, chain.Wrapf(ErrInvalidTiers, "tier %s: a cap is lower than in tier %s", t.Name, p.Name)
		}
	}
	return out, nil
}

// config is the trust parameters in force, parsed.
type config struct {
	tiers          []tier
	halfLife       int64 // seconds
	probation      int64 // seconds
	rotationWindow int64 // seconds
	interval       int64 // blocks
	// fingerprint covers what changes a computed score or tier; when it
	// changes, every agent is rescored at the end of that block.
	fingerprint [32]byte
}

// tierCache keeps the last parsed tier table with the JSON it came from,
// so a block does not parse the table again; a different JSON is parsed
// afresh, so the cache never decides a result.
type tierCache struct {
	raw   string
	tiers []tier
}

func (k *Keeper) config(ctx *module.Context) (*config, error) {
	raw, err := k.params.Raw(ctx, ParamTiers)
	if err != nil {
		return nil, err
	}
	c := &config{}
	if tc := k.tiers.Load(); tc != nil && tc.raw == string(raw) {
		c.tiers = tc.tiers
	} else {
		ts, err := parseTiers(raw)
		if err != nil {
			return nil, chain.Wrapf(chain.ErrInternal, "stored %s: %v", ParamTiers, err)
		}
		k.tiers.Store(&tierCache{raw: string(raw), tiers: ts})
		c.tiers = ts
	}
	var half, prob, rot int64
	for _, p := range []struct {
		key string
		v   *int64
	}{{ParamPenaltyHalfLife, &half}, {ParamProbationDays, &prob}, {ParamRotationWindow, &rot}, {ParamRescoreInterval, &c.interval}} {
		if err := k.params.Get(ctx, p.key, p.v); err != nil {
			return nil, err
		}
	}
	if half < 1 || c.interval < 1 {
		return nil, chain.Wrapf(chain.ErrInternal, "stored trust parameters out of range")
	}
	c.halfLife, c.probation, c.rotationWindow = half*day, prob*day, rot*day
	h := sha256.New()
	h.Write(raw)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(half)))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(rot)))
	h.Sum(c.fingerprint[:0])
	return c, nil
}
