// Package storagetest is the conformance suite every storage.Store backend
// must pass: Run exercises each method, each sentinel error, time handling,
// session expiry, the friend state machine, message batches (gapless seqs,
// duplicates, all-or-nothing), history paging, read markers, groups, file
// records and their listings, concurrent writers and reopening.
// It defines behaviour through the storage interfaces only; it knows no SQL
// and no backend, and it is imported by tests only.
package storagetest
