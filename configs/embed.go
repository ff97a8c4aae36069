package configs

import _ "embed"

// Documented is the text of huddled.yaml, every key with its default.
//
//go:embed huddled.yaml
var Documented []byte
