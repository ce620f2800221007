// Package attack is the bridge's attack suite: tests only, run by `make
// test` and, with a table of their figures, by `make security`. It drives
// the real wiring (app.Build and Deps.Handlers, with the real adapters,
// tenant loader, secrets cache and egress client) over the in-memory fakes
// of DynamoDB and Secrets Manager, and plays each class of attack of issue 8
// against every entry point: the HTTP API's routes as API Gateway would
// deliver them (shared/route's table, the $default route included) and the
// outbound callers (Chat and widget APIs, generic callbacks, Sunshine,
// LivePerson, action call-outs, key sets), with loopback servers standing in
// for vendors, an attacker and internal hosts.
//
// Every test counts what it tried, what was refused and what leaked, and
// logs one line that SECURITY.md's figures table is made of:
//
//	ATTACK <class>: tried=N refused=N leaks=0 [panics=0 ...]
//
// The entry points are one table (entries in entries_test.go); a new one —
// a queue consumer of the durable delivery path — is one row there.
package attack
