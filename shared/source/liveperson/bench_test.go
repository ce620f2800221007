package liveperson

import (
	"testing"

	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// The warm-path cost LivePerson's 60 s budget and our 15 s one hardly feel,
// measured so a regression (a key parsed per request, say) shows.

func BenchmarkAuthenticate(b *testing.B) {
	a := newAdapter()
	acct := account(b, baseSettings(b), userPass)
	req := apiRequest(b, endpoint(b).Text(testConv, 1, "hi"))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Authenticate(req, acct, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseText(b *testing.B) {
	a := newAdapter()
	acct := account(b, baseSettings(b), userPass)
	req := apiRequest(b, endpoint(b).Text(testConv, 1, "Buy (2/3)"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Parse(req, acct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderCarousel(b *testing.B) {
	m := ultimate.Message{Type: "carousel", Text: "Plans", CarouselCards: cards(10)}
	b.ReportAllocs()
	for b.Loop() {
		if len(messaging.render(m)) != 2 {
			b.Fatal("unexpected items")
		}
	}
}
