package pgwire

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/spoutdev/spout/query"
)

// pgError is an error with its SQLSTATE, as the client receives it.
type pgError struct {
	code  string
	msg   string
	hint  string
	pos   int // 1-based character position in the statement, 0 when unknown
	fatal bool
}

func (e *pgError) Error() string { return e.msg }

func asFatal(err error) error {
	var pe *pgError
	if errors.As(err, &pe) {
		c := *pe
		c.fatal = true
		return &c
	}
	return &pgError{code: "XX000", msg: err.Error(), fatal: true}
}

// toPG gives err its SQLSTATE. Engine errors keep their position in the query.
func toPG(err error) *pgError {
	var pe *pgError
	if errors.As(err, &pe) {
		return pe
	}
	out := &pgError{code: "XX000", msg: err.Error()}
	var se *query.SQLError
	var mq *query.MissingQualError
	var plug *query.PluginError
	var ce *query.ConnectionError
	switch {
	case errors.As(err, &mq):
		// Postgres has no code for "this table needs a qual"; Steampipe reports it as an
		// external routine's error.
		out.code, out.msg = "42P10", stripPosition(mq.Error(), mq.Position)
		out.hint = "add a WHERE condition pinning " + strings.Join(mq.Columns, " and ") + " to a value"
	case errors.As(err, &se):
		out.code, out.msg, out.hint = sqlState(se.Message), se.Message, se.Hint
	case errors.As(err, &plug):
		out.code = "38000" // external_routine_exception
	case errors.As(err, &ce):
		out.code = "08000"
	case errors.Is(err, context.DeadlineExceeded):
		out.code = "57014"
	case errors.Is(err, query.ErrClosed):
		out.code, out.fatal = "57P01", true
	}
	return out
}

func stripPosition(msg string, p query.Position) string {
	if p.Known() {
		return strings.TrimPrefix(msg, p.String()+": ")
	}
	return msg
}

// sqlState guesses the SQLSTATE of an engine message; clients mostly show the message,
// but some act on the class (42: the query is wrong, do not retry).
func sqlState(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "syntax error"):
		return "42601"
	case strings.Contains(m, "column") && (strings.Contains(m, "does not exist") || strings.Contains(m, "not found")):
		return "42703"
	case strings.Contains(m, "table") && (strings.Contains(m, "does not exist") || strings.Contains(m, "no table")):
		return "42P01"
	case strings.Contains(m, "unknown connection"):
		return "3F000"
	case strings.Contains(m, "function") && (strings.Contains(m, "does not exist") || strings.Contains(m, "no function")):
		return "42883"
	case strings.Contains(m, "conversion") || strings.Contains(m, "could not convert") || strings.Contains(m, "invalid input"):
		return "22P02"
	case strings.Contains(m, "division by zero"):
		return "22012"
	case strings.Contains(m, "not allowed") || strings.Contains(m, "permission"):
		return "42501"
	}
	return "42000"
}

// sendError writes err as an ErrorResponse. text and offset locate the statement in the
// client's message, for turning the engine's byte offset into Postgres's character
// position.
func (ss *session) sendError(err error, text string, offset int) {
	pe := toPG(err)
	msg := &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: pe.code, Message: pe.msg, Hint: pe.hint}
	if pe.fatal {
		msg.Severity, msg.SeverityUnlocalized = "FATAL", "FATAL"
	}
	if pe.pos > 0 {
		msg.Position = int32(pe.pos)
	}
	ss.be.Send(msg)
}

// charPosition turns a 1-based byte offset into text into Postgres's 1-based character
// position.
func charPosition(text string, byteOffset int) int {
	if byteOffset < 1 || byteOffset > len(text)+1 {
		return 0
	}
	return utf8.RuneCountInString(text[:byteOffset-1]) + 1
}
