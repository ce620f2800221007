package ultimatetest

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns 24 random hex characters, the shape of the AI agent's own
// IDs (Mongo ObjectIds), so our side sees realistic messageIds and
// conversationIds.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}
