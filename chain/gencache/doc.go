// Package gencache is a bounded, concurrency-safe memo for values that are
// cheap to recompute but costly to recompute often: a tx's verification
// result, an address's text form. It holds two generations of at most max
// entries each; when the newer fills up, the older is dropped. That bounds
// memory without per-entry bookkeeping, and what is used keeps being found
// (a hit in the older generation is still a hit).
//
// A gencache never decides a consensus result: callers put in it only what
// they could compute again.
package gencache
