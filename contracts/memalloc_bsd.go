//go:build darwin || freebsd

package contracts

const mapNoReserve = 0
