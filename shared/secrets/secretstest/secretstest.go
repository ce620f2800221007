// Package secretstest is an in-memory Secrets Manager for unit tests: the
// call the secrets cache makes (GetSecretValue) and the calls seeding makes
// (CreateSecret, PutSecretValue), with Secrets Manager's not-found and
// already-exists errors, and a count of reads so a test can hold the warm
// path to zero.
package secretstest

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Secrets is safe for concurrent use.
type Secrets struct {
	// Fault, when set, is asked before every read; a non-nil error is
	// returned instead.
	Fault func(name string) error

	reads  atomic.Int64
	mu     sync.Mutex
	values map[string]string
}

// New returns a store holding name/value pairs.
func New(nameValues ...string) *Secrets {
	s := &Secrets{values: map[string]string{}}
	for i := 0; i+1 < len(nameValues); i += 2 {
		s.values[nameValues[i]] = nameValues[i+1]
	}
	return s
}

// Set stores or replaces a secret value.
func (s *Secrets) Set(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[name] = value
}

// Reads is how many GetSecretValue calls were made.
func (s *Secrets) Reads() int64 { return s.reads.Load() }

// GetSecretValue implements secrets.API.
func (s *Secrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s.reads.Add(1)
	name := aws.ToString(in.SecretId)
	if s.Fault != nil {
		if err := s.Fault(name); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[name]
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
	}
	return &secretsmanager.GetSecretValueOutput{Name: aws.String(name), SecretString: aws.String(v)}, nil
}

// CreateSecret implements localstack.SecretsAPI.
func (s *Secrets) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.Name)
	if _, ok := s.values[name]; ok {
		return nil, &types.ResourceExistsException{Message: aws.String("the secret " + name + " already exists.")}
	}
	s.values[name] = aws.ToString(in.SecretString)
	return &secretsmanager.CreateSecretOutput{Name: in.Name}, nil
}

// PutSecretValue implements localstack.SecretsAPI.
func (s *Secrets) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.SecretId)
	if _, ok := s.values[name]; !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
	}
	s.values[name] = aws.ToString(in.SecretString)
	return &secretsmanager.PutSecretValueOutput{Name: in.SecretId}, nil
}
