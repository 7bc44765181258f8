//go:build !linux

package contracts

func pooledRegions() int { return -1 }
