// Package lptest holds fakes of LivePerson for tests and the local stack: a
// Sentinel that issues App-JWTs and serves a JWKS, a Third-Party Bots Public
// API that checks what the adapter sends, and builders of the requests
// LivePerson's Custom Endpoint client makes, shaped after LivePerson's
// OpenAPI file and reference service.
package lptest
