package apigw

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/obs/obstest"
)

// Every 5xx answer is one ServerErrors with its route; other answers none.
func TestServerErrorsMetric(t *testing.T) {
	cases := []struct {
		name  string
		serve Func
		want  int
	}{
		{"200", func(context.Context, *Request) (events.APIGatewayV2HTTPResponse, error) {
			return JSON(200, map[string]string{}), nil
		}, 0},
		{"409", func(context.Context, *Request) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, Errorf(409, "conflict", "no")
		}, 0},
		{"500", func(context.Context, *Request) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("boom")
		}, 1},
		{"503 answered", func(context.Context, *Request) (events.APIGatewayV2HTTPResponse, error) {
			return JSON(503, map[string]string{}), nil
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			h := &Handler{Name: "fn", Serve: tc.serve, Now: time.Now, Metrics: obs.NewMetrics(&out, "crmbridge", "fn")}
			ev := event("POST", "/x", "", `{}`, false, nil)
			ev.RouteKey = "POST /x"
			if _, err := h.Invoke(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			ms := obstest.Metrics(strings.Split(out.String(), "\n"))
			if len(ms) != tc.want {
				t.Fatalf("%d metrics, want %d: %s", len(ms), tc.want, out.String())
			}
			if tc.want == 1 && (ms[0].Name != "ServerErrors" || ms[0].Dimensions[0]["Route"] != "POST /x") {
				t.Fatalf("metric %+v", ms[0])
			}
		})
	}
}
