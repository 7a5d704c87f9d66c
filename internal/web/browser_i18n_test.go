package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/chipgate/chipgate/internal/service"
)

// chromeIn starts chromium asking for pages in lang (its Accept-Language).
func chromeIn(t *testing.T, lang string) context.Context {
	t.Helper()
	return chrome(t, chromedp.Flag("accept-lang", lang), chromedp.Flag("lang", lang))
}

// localTime is an instant as a Chinese page writes it in Beijing.
var localTime = regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d CST`)

// evaluate is the value of a JavaScript expression on the page.
func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// refusedInChinese sends the form of the page whose field is set to a bad
// value (the browser's own checks off: the server's are under test) and
// checks that the page comes back with the refusal in Chinese next to the
// field, which has the focus.
func refusedInChinese(t *testing.T, ctx context.Context, name, form, field, errID, value, says string) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(css(form)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(document.querySelector(`+quoteJS(form)+`).noValidate = true)`)(ctx, tg)
			return err
		}),
	}
	if field != "" {
		steps = append(steps, chromedp.SetValue(css(field), value))
	}
	steps = append(steps, chromedp.Click(css(form+` button[type=submit]`)), chromedp.WaitVisible(css("#"+errID)))
	do(t, ctx, name, steps...)
	if got := text(t, ctx, "#"+errID); !strings.Contains(got, says) {
		t.Errorf("%s: next to the field %q, want %q", name, got, says)
	}
	if field != "" {
		if focused := evaluate[bool](t, ctx, `document.activeElement === document.querySelector(`+quoteJS(field)+`)`); !focused {
			t.Errorf("%s: the refused field is not focused", name)
		}
	}
}

func quoteJS(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestBrowserBuyerInChinese walks the buyer's page as a browser asking for
// Chinese: Chinese words, Beijing times, a refused order and cancellation
// said in Chinese beside their fields, and an order placed.
func TestBrowserBuyerInChinese(t *testing.T) {
	ctx := chromeIn(t, "zh-CN")
	e := newEnv(t)
	signInBrowser(t, ctx, e, "bytedance")
	do(t, ctx, "zh-buyer", chromedp.WaitVisible(css(".chart .uplot canvas")))
	if lang := evaluate[string](t, ctx, `document.documentElement.lang`); lang != "zh-Hans" {
		t.Fatalf("the page is in %q", lang)
	}
	if h1 := text(t, ctx, "h1"); !strings.Contains(h1, "买方") {
		t.Errorf("the title %q is not Chinese", h1)
	}
	if orders := text(t, ctx, "#orders"); !localTime.MatchString(orders) || !strings.Contains(orders, "已接受") {
		t.Errorf("the orders table has no Beijing time or Chinese status: %.300q", orders)
	}
	refusedInChinese(t, ctx, "zh-buyer-quantity", `form[action="/buyer/orders"]`, "#quantity", "err-buyer-orders-quantity",
		"99999999999999999999", "数量：过大")
	refusedInChinese(t, ctx, "zh-buyer-cancel", `form[action="/buyer/orders/cancel"]`, "#cancel-order", "err-buyer-orders-cancel-order",
		"", "请选择要取消的订单。")
	do(t, ctx, "zh-buyer-order",
		chromedp.SetValue(css("#quantity"), "120"),
		chromedp.SetValue(css("#end_use"), "commercial_ai"),
		chromedp.Click(css(`form[action="/buyer/orders"] button[type=submit]`)),
		chromedp.WaitVisible(css("#placed .outcome")),
	)
	if outcome := text(t, ctx, "#placed .outcome"); !regexp.MustCompile(`^(已接受|待审查|已驳回)$`).MatchString(outcome) {
		t.Errorf("the decision %q is not in Chinese", outcome)
	}
	if placed := text(t, ctx, "#placed"); !strings.Contains(placed, "120 × h200") || !strings.Contains(placed, "自 ") {
		t.Errorf("the order is not described in Chinese: %q", placed)
	}
}

// TestBrowserImportAuthorityInChinese walks the Chinese import authority's
// page in Chinese: its words and Beijing times, and a refusal of each of
// its forms in Chinese beside the field.
func TestBrowserImportAuthorityInChinese(t *testing.T) {
	ctx := chromeIn(t, "zh-CN")
	e := newEnv(t)
	// A hearing with a filing, so that the page has a moment to show.
	hv, err := e.svc.OpenHearing(context.Background(), e.actor("cn-mofcom"), service.HearingRequest{Title: "2026年第二季度 H200 需求", Product: "h200",
		PeriodStart: "2026-04-01", PeriodEnd: "2026-07-01"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.FileDemand(context.Background(), e.actor("bytedance"), hv.ID, service.FilingRequest{Units: 4000, Uses: []string{"commercial_ai"}}); err != nil {
		t.Fatal(err)
	}
	signInBrowser(t, ctx, e, "cn-mofcom")
	do(t, ctx, "zh-import", chromedp.WaitVisible(css("#permit-h")))
	if h1 := text(t, ctx, "h1"); !strings.Contains(h1, "进口主管机关") {
		t.Errorf("the title %q is not Chinese", h1)
	}
	if heading := text(t, ctx, "#permit-h"); heading != "批准或拒绝进口许可" {
		t.Errorf("the permit form's heading: %q", heading)
	}
	if filings := text(t, ctx, "#filings"); !localTime.MatchString(filings) || !strings.Contains(filings, "4,000") {
		t.Errorf("the filings table has no Beijing time: %.300q", filings)
	}
	if zone := evaluate[string](t, ctx, `document.getElementById("tz").value`); zone != "Asia/Shanghai" {
		t.Errorf("the zone is %q, want Asia/Shanghai for China's authority", zone)
	}
	refusedInChinese(t, ctx, "zh-import-permit", `form[action="/import/permits"]`, "#permit-quantity", "err-import-permits-quantity",
		"99999999999999999999", "配额（台）：过大")
	refusedInChinese(t, ctx, "zh-import-hearing", `form[action="/import/hearings"]`, "#hearing-title", "err-import-hearings-title",
		" ", "标题：必填")
	refusedInChinese(t, ctx, "zh-import-close", `form[action="/import/hearings/close"]`, "#close-hearing", "err-import-hearings-close-hearing",
		"", "听证会：请选择要结束的听证会。")
}
