package migrate

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"go.uber.org/goleak"
	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string
		wantErr    bool
	}{
		{"empty", "-- nothing here\n\n", nil, false},
		{"one per line", "CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);\n", []string{"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"}, false},
		{"multi-line with comments", "-- head\nCREATE TABLE a (\n\t-- the key\n\tx INT\n);", []string{"CREATE TABLE a (\nx INT\n)"}, false},
		{"unterminated", "CREATE TABLE a (x INT)\n", nil, true},
	} {
		got, err := split(c.text)
		if (err != nil) != c.wantErr || !slices.Equal(got, c.want) {
			t.Errorf("%s: split = %q, %v; want %q, error %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}

func TestLoad(t *testing.T) {
	files, err := load(fstest.MapFS{
		"0010_later.sql": {Data: []byte("CREATE TABLE b (x INT);")},
		"0002_first.sql": {Data: []byte("CREATE TABLE a (x INT);")},
	})
	if err != nil || len(files) != 2 || files[0].Version != 2 || files[1].Version != 10 {
		t.Fatalf("load = %+v, %v; want versions 2 then 10", files, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"misnamed":          {"0001-init.sql": {}},
		"not sql":           {"0001_init.txt": {}},
		"shared version":    {"0001_a.sql": {}, "0001_b.sql": {}},
		"unterminated stmt": {"0001_a.sql": {Data: []byte("CREATE TABLE a (x INT)")}},
	} {
		if _, err := load(fsys); err == nil {
			t.Errorf("%s: load succeeded", name)
		}
	}
}

// A failing file leaves nothing behind in a transactional database, and the
// next run picks up from there.
func TestApplyTransactional(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := Dialect{Bootstrap: "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied DATETIME NOT NULL)", Transactional: true}
	fsys := fstest.MapFS{
		"0001_a.sql": {Data: []byte("CREATE TABLE a (x INT);")},
		"0002_b.sql": {Data: []byte("CREATE TABLE b (x INT);\nINSERT INTO nowhere VALUES (1);")},
	}
	if err := Apply(t.Context(), db, fsys, d); err == nil || !strings.Contains(err.Error(), "0002_b.sql") {
		t.Fatalf("Apply = %v, want an error naming 0002_b.sql", err)
	}
	if v, err := Applied(t.Context(), db); err != nil || !slices.Equal(v, []int{1}) {
		t.Fatalf("Applied = %v, %v; want [1]", v, err)
	}
	if _, err := db.ExecContext(t.Context(), "SELECT * FROM b"); err == nil {
		t.Fatal("table b of the failed migration exists")
	}

	fsys["0002_b.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE b (x INT);")}
	for range 2 {
		if err := Apply(t.Context(), db, fsys, d); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	if v, err := Applied(t.Context(), db); err != nil || !slices.Equal(v, []int{1, 2}) {
		t.Fatalf("Applied = %v, %v; want [1 2]", v, err)
	}
}
