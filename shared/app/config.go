package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Config is the environment of every function.
type Config struct {
	TenantsTable       string
	StateTable         string
	UltimateBaseURL    string
	LogLevel           string
	Stage              string
	SecretsPrefix      string
	DeadLetterTTL      time.Duration
	ConfigTTL          time.Duration
	SecretsTTL         time.Duration
	EscalationFunction string // for the single webhook URL
	ActionFunction     string
}

// ConfigFromEnv reads the environment, reporting every problem at once.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		TenantsTable:       getenv("TENANTS_TABLE"),
		StateTable:         getenv("STATE_TABLE"),
		UltimateBaseURL:    strings.TrimRight(getenv("ULTIMATE_BASE_URL"), "/"),
		LogLevel:           getenv("LOG_LEVEL"),
		Stage:              getenv("STAGE"),
		SecretsPrefix:      getenv("SECRETS_PREFIX"),
		EscalationFunction: getenv("ESCALATION_FUNCTION"),
		ActionFunction:     getenv("ACTION_FUNCTION"),
	}
	var errs []error
	if c.TenantsTable == "" {
		errs = append(errs, errors.New("TENANTS_TABLE is required"))
	}
	if c.StateTable == "" {
		errs = append(errs, errors.New("STATE_TABLE is required"))
	}
	if c.UltimateBaseURL == "" {
		c.UltimateBaseURL = ultimate.DefaultBaseURL
	}
	if c.LogLevel == "" {
		c.LogLevel = "INFO"
	}
	if c.SecretsPrefix == "" {
		c.SecretsPrefix = "crmbridge/"
	}
	num := func(name string, def int, unit time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return time.Duration(def) * unit
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive integer, got %q", name, v))
			return time.Duration(def) * unit
		}
		return time.Duration(n) * unit
	}
	c.DeadLetterTTL = num("DEAD_LETTER_TTL_DAYS", 14, 24*time.Hour)
	c.ConfigTTL = num("CONFIG_TTL_SECONDS", 60, time.Second)
	c.SecretsTTL = num("SECRETS_TTL_SECONDS", 300, time.Second)
	return c, errors.Join(errs...)
}
