// Package actors owns Huddle's state and its ordering: a protoactor-go actor
// system with one actor per online user (later per group and per meeting),
// the Directory that finds or spawns them by name, and the Hub that routes
// each decoded request from the front end to its owner. Actors never block in
// Receive on slow work: password hashing runs on a bounded worker pool and
// storage calls run off the actor, coming back as messages. The package
// reaches connections only through the Conn interface it defines and
// persists only through storage.Store.
package actors
