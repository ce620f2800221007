package ultimate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmbridge/crmbridge/shared/egress"
)

// observe records the AI agent's health per HTTP attempt (retries count
// one by one, so a slow or failing agent shows as it is, not as the
// bridge's retries hide it): AgentRequests and AgentLatency for every
// attempt, AgentErrors for each that did not get a 2xx. Dimension
// Operation is chat or widget; AgentErrors also has Reason (errorReason).
// The template's alarms and dashboard read them (names and dimensions are
// literals, so its test can read them here).
func (c *Client) observe(path string, took time.Duration, err error) {
	op := "chat"
	if path != "/converse/chat" {
		op = "widget"
	}
	c.Metrics.Count("AgentRequests", 1, map[string]string{"Operation": op})
	c.Metrics.Millis("AgentLatency", took, map[string]string{"Operation": op})
	if err != nil {
		c.Metrics.Count("AgentErrors", 1, map[string]string{"Operation": op, "Reason": errorReason(err)})
	}
}

// errorReason is a low-cardinality class of a failed attempt: the status
// class (429 on its own), timeout, refused (the egress guard), or network.
func errorReason(err error) string {
	var se *egress.StatusError
	switch {
	case errors.As(err, &se) && se.Status == 429:
		return "429"
	case errors.As(err, &se):
		return fmt.Sprintf("%dxx", se.Status/100)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, egress.ErrRefused):
		return "refused"
	default:
		return "network"
	}
}
