package main

import "testing"

func TestCheckLoad(t *testing.T) {
	perConv := []int{3, 2}
	for _, tc := range []struct {
		name     string
		received []string
		want     loadCheck
	}{
		{"all, in order, interleaved", []string{"msg-0-0", "msg-1-0", "msg-0-1", "msg-1-1", "msg-0-2"}, loadCheck{}},
		{"one lost", []string{"msg-0-0", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{lost: 1}},
		{"one twice", []string{"msg-0-0", "msg-0-1", "msg-0-1", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{duplicated: 1}},
		{"one late", []string{"msg-0-1", "msg-0-0", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{outOfOrder: 1}},
		{"strangers ignored", []string{"You said: hi", "msg-9-0", "msg-0-7", "msg-0-0", "msg-0-1", "msg-0-2", "msg-1-0", "msg-1-1"}, loadCheck{}},
		{"nothing", nil, loadCheck{lost: 5}},
	} {
		if got := checkLoad(perConv, tc.received); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
