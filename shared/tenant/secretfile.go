package tenant

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/crmbridge/crmbridge/shared/strictjson"
)

// SecretFile is a secret as operators keep it in a file: the shape
// `aws secretsmanager create-secret --cli-input-json file://...` takes. The
// demo tenant's secrets are such files; `crmbridge tenants validate` checks
// them beside the items, and the local stack seeds them.
type SecretFile struct {
	Name         string      `json:"Name"`
	Description  string      `json:"Description,omitempty"`
	SecretString string      `json:"SecretString"`
	KmsKeyID     string      `json:"KmsKeyId,omitempty"`
	Tags         []SecretTag `json:"Tags,omitempty"`
}

// SecretTag is a tag of a secret file.
type SecretTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// IsSecretFile tells a secret file from an item file: an item has pk and
// no Name.
func IsSecretFile(b []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil {
		return false
	}
	_, ok := probe["Name"]
	return ok
}

// DecodeSecretFile reads a secret file strictly and checks that its name is
// one of the bridge's (ParseSecretName). Errors never include the value.
func DecodeSecretFile(b []byte) (SecretFile, *SecretRef, error) {
	var s SecretFile
	if err := strictjson.Decode(b, &s); err != nil {
		return SecretFile{}, nil, fmt.Errorf("secret file: %w", err)
	}
	if s.Name == "" || s.SecretString == "" {
		return SecretFile{}, nil, fmt.Errorf("secret file: Name and SecretString are required")
	}
	ref, err := ParseSecretName(s.Name)
	if err != nil {
		return SecretFile{}, nil, err
	}
	return s, &ref, nil
}

// ReadSecretFile reads and decodes one secret file.
func ReadSecretFile(path string) (SecretFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return SecretFile{}, err
	}
	s, _, err := DecodeSecretFile(b)
	if err != nil {
		return SecretFile{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
