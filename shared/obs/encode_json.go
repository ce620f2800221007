//go:build obs_encodingjson

package obs

// encodingJSON says which encoder this build uses.
const encodingJSON = true

// encodeRecord, built with -tags obs_encodingjson, is the encoding/json
// encoder: the baseline `make bench` measures appendRecord against.
func encodeRecord(b []byte, top []string, r *record) ([]byte, []string) {
	return marshalRecord(b, r), top
}
