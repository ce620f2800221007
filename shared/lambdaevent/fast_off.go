//go:build lambdaevent_encodingjson

package lambdaevent

// fastPath is off: see fast.go.
const fastPath = false
