#!/bin/sh
# The fault matrix (tests/faults/matrix.rows, engine in tests/faults/matrix.sh):
# SMTP, through the fault front tests/smtpfault.py, each fault around the
# message. Nothing lost unless its result says uncertain, nothing twice (the
# maildir of the real server), the failing stage and service named.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/faults/matrix.sh
. "$top/tests/faults/matrix.sh"

matrix_setup smtp
matrix_provider smtp
matrix_rows smtp

no_secrets_printed
done_testing
