package fallback_test

import (
	"testing"

	"github.com/chipgate/chipgate/internal/screening"
	"github.com/chipgate/chipgate/internal/screening/fallback"
)

func TestLoad(t *testing.T) {
	ds, err := fallback.Load()
	if err != nil {
		t.Fatal(err)
	}
	if ds.Report.Records != 14160 || ds.Report.SkippedCount() != 0 {
		t.Errorf("records %d, skipped %d; want 14160 and 0", ds.Report.Records, ds.Report.SkippedCount())
	}
	ix := screening.NewIndex(ds.Entities)
	hits, err := ix.Search(screening.Query{Name: "Huawei Technologies Co., Ltd."})
	if err != nil || len(hits) == 0 || hits[0].Entity.PrimarySource().List != "EL" {
		t.Errorf("Huawei in the embedded list: %v %+v", err, hits)
	}
}
