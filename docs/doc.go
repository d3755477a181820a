// Package docs holds podrun's documents (semantics.md, contract.md,
// architecture.md) and the test that keeps the code's citations of them
// resolvable.
package docs
