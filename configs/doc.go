// Package configs owns huddled's configuration: the Config struct with its
// defaults, strict YAML loading, HUDDLE_* environment overrides and Validate.
// huddled.yaml beside this file documents every key with its default and is
// checked against DefaultConfig by the tests. The package only describes
// settings; it must not open sockets or databases.
package configs
