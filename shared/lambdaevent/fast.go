//go:build !lambdaevent_encodingjson

package lambdaevent

// fastPath says whether Decode tries the decoder of this package first;
// built with -tags lambdaevent_encodingjson, every payload goes to
// encoding/json, the baseline `make bench` measures the warm path against.
const fastPath = true
