// Command hello is the cold-start yardstick of `make bench`: the smallest Go
// Lambda behind an HTTP API, answering every event with a fixed JSON
// response (research/baselines.md, "Go hello").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       `{"ok":true}`,
	}, nil
}

func main() { lambda.Start(handle) }
