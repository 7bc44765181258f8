// Package params keeps the chain's parameters: named values (windows,
// fees, trust tiers, the voting period …) that modules declare with a
// default and a validator, that genesis may override, and that only a
// passed consortium proposal changes afterwards.
package params
