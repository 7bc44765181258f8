package contracts

import "syscall"

// mapNoReserve: do not count the reservation against overcommit limits;
// only touched pages use memory.
const mapNoReserve = syscall.MAP_NORESERVE
