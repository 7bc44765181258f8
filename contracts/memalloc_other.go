//go:build !linux

package contracts

import "github.com/tetratelabs/wazero/experimental"

func reserveMemory(uint64) experimental.LinearMemory { return nil }
