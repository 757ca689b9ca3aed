#!/usr/bin/env bash
# The compatibility scenario (test/compat/README.md) with the mariadb command-line client and mariadb-admin.
# Every mariadb run is its own session, so each check that needs a library starts with `select library`, as a
# script would. Batch mode (-e or stdin), --init-command, DELIMITER for a real multi-statement, SQL-level
# PREPARE/EXECUTE, --raw for the blob, `status` (COM_STATISTICS), a real terminal through script(1), and
# mariadb-admin ping. Prints one JSON line per check.
set -u
export LC_ALL=C.UTF-8

CLIENT=$COMPAT_CLIENT
KEY=$COMPAT_KEY
ITEMS=$COMPAT_TABLE_ITEMS
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

connection=(-h "$COMPAT_HOST" -P "$COMPAT_PORT" -u "$COMPAT_USER" "-p$COMPAT_PASSWORD")

# mariadb in batch mode (tab-separated, NULL as NULL, no table borders) with utf8mb4.
sql() { mariadb "${connection[@]}" --batch --default-character-set=utf8mb4 "$@" "$COMPAT_DATABASE"; }

json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  s=$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')
  printf '"%s"' "$s"
}

emit_version() { printf '{"client":%s,"version":%s}\n' "$(json_string "$CLIENT")" "$(json_string "$1")"; }

# check NAME FUNCTION: the function prints a detail on failure and returns non-zero.
check() {
  local name=$1 detail status
  detail=$("$2" 2>&1)
  status=$?
  if [ $status -eq 0 ]; then
    printf '{"client":%s,"check":%s,"ok":true}\n' "$(json_string "$CLIENT")" "$(json_string "$name")"
  else
    printf '{"client":%s,"check":%s,"ok":false,"detail":%s}\n' "$(json_string "$CLIENT")" "$(json_string "$name")" \
      "$(json_string "${detail:0:2000}")"
  fi
}

# expect WHAT EXPECTED ACTUAL
expect() {
  if [ "$2" != "$3" ]; then
    printf '%s: expected [%s], got [%s]\n' "$1" "$2" "$3"
    return 1
  fi
}

route="select library $KEY;"

# "mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu ..." → "mariadb 15.1 (MariaDB 10.11.19)"
short_version() { sed -E 's/^([a-z-]+) +Ver ([0-9.]+) Distrib ([0-9.]+)-MariaDB.*/\1 \2 (MariaDB \3)/'; }
emit_version "$(mariadb --version | short_version), $(mariadb-admin --version | short_version)"

check_connect() {
  local out
  out=$(sql -N -e 'SELECT 1') || return 1
  expect 'SELECT 1' 1 "$out"
}

# --force on a script from stdin goes on after an error (-e would stop): the error on stderr, the next
# statement's result on stdout.
check_lobby_refuses_data() {
  local out
  out=$(printf '%s;\nSELECT 1 AS one;\n' "$COMPAT_SQL_LOBBY_DATA" | sql --force -N 2>"$WORK/stderr")
  grep -q 'ERROR 7101' "$WORK/stderr" || { echo "no ERROR 7101: $(cat "$WORK/stderr")"; return 1; }
  expect 'SELECT 1 afterwards' 1 "$out"
}

check_select_library() {
  local out library key server port
  out=$(sql -N -e "$route show library; SELECT @@port;") || return 1
  IFS=$'\t' read -r library key server <<<"$(sed -n 1p <<<"$out")"
  port=$(sed -n 2p <<<"$out")
  expect 'show library key' "$KEY" "$key" || return 1
  expect '@@port against show library server' "${server##*:}" "$port"
}

check_lobby_settings() {
  local out before after
  out=$(sql -N -e "SET time_zone = '$COMPAT_TIME_ZONE'; $COMPAT_SQL_SETTINGS; $route $COMPAT_SQL_SETTINGS;") || return 1
  before=$(sed -n 1p <<<"$out")
  after=$(sed -n 2p <<<"$out")
  expect 'settings after select library' "$before" "$after" || return 1
  expect 'time_zone' "$COMPAT_TIME_ZONE" "${after##*$'\t'}"
}

# --init-command is sent at connect, before any library; the interactive client's first statement is
# `select @@version_comment limit 1`.
check_connect_chatter() {
  local out
  out=$(sql -N --init-command='SET NAMES utf8mb4 COLLATE utf8mb4_bin' \
    -e "select @@version_comment limit 1; $route SELECT @@collation_connection;") || return 1
  [ "$(wc -l <<<"$out")" -eq 2 ] || { echo "unexpected output: $out"; return 1; }
  expect 'collation_connection after select library' utf8mb4_bin "$(sed -n 2p <<<"$out")"
}

check_ddl() {
  {
    echo "$route"
    while IFS= read -r statement; do
      case $statement in
        CREATE\ PROCEDURE*) printf 'DELIMITER //\n%s//\nDELIMITER ;\n' "$statement" ;;
        *) printf '%s;\n' "$statement" ;;
      esac
    done <<<"$COMPAT_SQL_DDL"
  } | sql
}

# The insert statement with its ? replaced by SQL literals (the texts hold no quote or backslash).
insert_item() {
  local id=$1 label=$2 note=$3 amount=$4 statement=$COMPAT_SQL_INSERT_ITEM value
  for value in "$id" "'$label'" "$note" "$amount"; do statement=${statement/\?/$value}; done
  printf '%s' "$statement"
}

select_item() { printf '%s' "${COMPAT_SQL_SELECT_ITEM/\?/$1}"; }

check_text_utf8mb4() {
  local out
  out=$(sql -N -e "$route $(insert_item 1 "$COMPAT_TEXT_EMOJI" NULL 1.50); $(insert_item 2 "$COMPAT_TEXT_CJK" "'$COMPAT_TEXT_NOTE'" NULL);
    $(select_item 1); $(select_item 2);") || return 1
  expect 'row 1' "$COMPAT_TEXT_EMOJI	NULL	1.50	$COMPAT_TEXT_EMOJI_HEX" "$(sed -n 1p <<<"$out")" || return 1
  expect 'row 2' "$COMPAT_TEXT_CJK	$COMPAT_TEXT_NOTE	NULL	$COMPAT_TEXT_CJK_HEX" "$(sed -n 2p <<<"$out")"
}

check_null_values() {
  local out
  out=$(sql -N -e "$route SELECT note IS NULL, amount IS NULL FROM $ITEMS WHERE id IN (1, 2) ORDER BY id;") || return 1
  expect 'note IS NULL, amount IS NULL of rows 1 and 2' $'1\t0\n0\t1' "$out"
}

check_sql_prepared() {
  local out
  out=$(sql -N -e "$route PREPARE insert_item FROM '$COMPAT_SQL_INSERT_ITEM';
    SET @id = 3, @label = '$COMPAT_TEXT_MIXED', @note = NULL, @amount = -2.25;
    EXECUTE insert_item USING @id, @label, @note, @amount; DEALLOCATE PREPARE insert_item;
    PREPARE select_item FROM '$COMPAT_SQL_SELECT_ITEM'; EXECUTE select_item USING @id;") || return 1
  expect 'row 3' "$COMPAT_TEXT_MIXED	NULL	-2.25	$COMPAT_TEXT_MIXED_HEX" "$out"
}

check_commit() {
  local out
  out=$(sql -N -e "$route BEGIN; $(insert_item 10 committed NULL NULL); COMMIT; SELECT COUNT(*) FROM $ITEMS WHERE id = 10;") || return 1
  expect 'rows with id 10' 1 "$out"
}

check_rollback() {
  local out
  out=$(sql -N -e "$route BEGIN; $(insert_item 11 'rolled back' NULL NULL); ROLLBACK; SELECT COUNT(*) FROM $ITEMS WHERE id = 11;") || return 1
  expect 'rows with id 11' 0 "$out"
}

check_large_result() {
  sql -N -e "$route $COMPAT_SQL_FILL_ROWS; $COMPAT_SQL_SELECT_ROWS;" >"$WORK/rows" || return 1
  awk -v n="$COMPAT_ROWS" 'BEGIN { for (i = 1; i <= n; i++) printf "%d\trow-%d\n", i, i }' >"$WORK/expected"
  cmp "$WORK/expected" "$WORK/rows" || { echo "$(wc -l <"$WORK/rows") rows; first difference above"; return 1; }
}

# The client reads the file and sends it when the server asks (--local-infile).
check_load_data_local() {
  local out
  out=$(sql -N --local-infile=1 -e "$route $COMPAT_SQL_LOAD_DATA; $COMPAT_SQL_LOADED;") || return 1
  expect 'COUNT(*) and SUM(n) of the loaded rows' "${COMPAT_LOADED/ /$'\t'}" "$out"
}

check_blob_4mb() {
  local out size
  # A hex literal of the 4 MiB: 8 MiB of statement text.
  { printf '%s INSERT INTO %s (id, data) VALUES (1, x'"'" "$route" "$COMPAT_TABLE_BLOBS"
    od -An -v -tx1 "$COMPAT_BLOB_FILE" | tr -d ' \n'
    printf "');\n"; } | sql || return 1
  out=$(sql -N -e "$route ${COMPAT_SQL_BLOB_DIGEST/\?/1};") || return 1
  expect 'LENGTH(data), MD5(data)' "$COMPAT_BLOB_BYTES	$COMPAT_BLOB_MD5" "$out" || return 1
  # --raw: the bytes as they are, then a newline.
  sql -N --raw -e "$route ${COMPAT_SQL_SELECT_BLOB/\?/1};" >"$WORK/blob" || return 1
  size=$(stat -c %s "$WORK/blob")
  expect 'bytes read back (with the newline)' $((COMPAT_BLOB_BYTES + 1)) "$size" || return 1
  head -c "$COMPAT_BLOB_BYTES" "$WORK/blob" | cmp - "$COMPAT_BLOB_FILE"
}

check_error_recovery() {
  local out
  out=$(printf '%s\n%s;\nSELECT 1 + 1 AS two;\n' "$route" "$COMPAT_SQL_ERROR" | sql --force -N 2>"$WORK/stderr")
  grep -q 'ERROR 1146' "$WORK/stderr" || { echo "no ERROR 1146: $(cat "$WORK/stderr")"; return 1; }
  expect 'next statement' 2 "$out"
}

check_procedure_out() {
  local out
  out=$(sql -N -e "$route $COMPAT_SQL_CALL; $COMPAT_SQL_CALL_OUT;") || return 1
  expect 'result set, then the OUT parameter' $'21\n42' "$out"
}

# With another delimiter the client sends both statements in one COM_QUERY.
check_multi_statements() {
  local out
  out=$(printf '%s\nDELIMITER //\n%s//\n' "$route" "$COMPAT_SQL_MULTI" | sql -N) || return 1
  expect 'result sets' $'1\ntwo' "$out"
}

check_correl_alias() {
  local library out
  library=$(sql -N -e "$route set correl_object $COMPAT_CORREL_CLASS $COMPAT_CORREL_OBJECT $KEY; show library;" | cut -f1) || return 1
  out=$(sql -N -e "select library_by_correl_object $COMPAT_CORREL_CLASS $COMPAT_CORREL_OBJECT; show library;
    SELECT label FROM $ITEMS WHERE id = 2;") || return 1
  expect 'show library, then row 2 on the new connection' "$library	$KEY	" "$(sed -n 1p <<<"$out" | cut -f1,2)	" || return 1
  expect 'row 2' "$COMPAT_TEXT_CJK" "$(sed -n 2p <<<"$out")"
}

check_statistics() {
  local out
  out=$(printf '%s\nstatus\nSELECT 1 AS one;\n' "$route" | sql) || return 1
  [[ $out == *"Uptime:"* ]] || { echo "no Uptime in: $out"; return 1; }
  [[ $out == *$'one\n1'* ]] || { echo "no SELECT 1 after status: $out"; return 1; }
}

# mysqlda does not offer compression: a client asking for it must still connect, uncompressed.
check_compression() {
  local out
  out=$(sql --compress -N -e "$route SELECT label FROM $ITEMS WHERE id = 2;") || return 1
  expect 'row 2 with --compress' "$COMPAT_TEXT_CJK" "$out"
}

check_admin_ping() {
  local out
  out=$(mariadb-admin "${connection[@]}" ping 2>&1) || { echo "$out"; return 1; }
  expect 'mariadb-admin ping' 'mysqld is alive' "$out"
}

# The interactive client on a terminal: welcome banner (after `select @@version_comment limit 1`), prompt, tables.
check_interactive_tty() {
  local out
  # rehash (\#) after routing: SHOW DATABASES, SHOW TABLES and a COM_FIELD_LIST per table, for completion.
  out=$(printf '%s\nrehash\nshow library;\nSELECT label FROM %s WHERE id = 2;\nquit\n' "$route" "$ITEMS" |
    TERM=dumb timeout 30 script -qec "mariadb ${connection[*]} --default-character-set=utf8mb4 $COMPAT_DATABASE" /dev/null | tr -d '\r')
  [[ $out == *"Server version:"* ]] || { echo "no welcome banner: $out"; return 1; }
  [[ $out == *"| $KEY "* ]] || { echo "show library has no key: $out"; return 1; }
  [[ $out == *"$COMPAT_TEXT_CJK"* ]] || { echo "row 2 missing: $out"; return 1; }
  [[ $out == *Bye* ]] || { echo "no Bye: $out"; return 1; }
  [[ $out != *ERROR* ]] || { echo "an error: $out"; return 1; }
}

# Ctrl-C on a running statement: the interactive client opens a second connection and sends KILL QUERY with the
# connection id of its handshake. The ^C goes in once the statement shows in the processlist.
check_cancel() {
  local out
  out=$({
    printf '%s\nSELECT SLEEP(30) AS slept;\n' "$route"
    for _ in $(seq 1 100); do
      [ "$(sql -N -e "$route SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30)%'")" = 1 ] && break
      sleep 0.1
    done
    printf '\003'
    printf 'SELECT 7 AS seven;\nquit\n'
  } | TERM=dumb timeout 25 script -qec "mariadb ${connection[*]} $COMPAT_DATABASE" /dev/null | tr -d '\r')
  [[ $out == *"Query execution was interrupted"* ]] || { echo "the statement was not interrupted: $out"; return 1; }
  [[ $out == *"|     7 |"* ]] || { echo "no SELECT 7 after the interrupted statement: $out"; return 1; }
}

check_quit() {
  printf '%s\nSELECT 1;\nquit\n' "$route" | sql -N >/dev/null
}

check connect check_connect
check lobby-refuses-data check_lobby_refuses_data
check select-library check_select_library
check lobby-settings check_lobby_settings
check connect-chatter check_connect_chatter
check ddl check_ddl
check text-utf8mb4 check_text_utf8mb4
check null-values check_null_values
check sql-prepared check_sql_prepared
check commit check_commit
check rollback check_rollback
check large-result check_large_result
check load-data-local check_load_data_local
check blob-4mb check_blob_4mb
check error-recovery check_error_recovery
check procedure-out check_procedure_out
check multi-statements check_multi_statements
check correl-alias check_correl_alias
check statistics check_statistics
check compression check_compression
check admin-ping check_admin_ping
check interactive-tty check_interactive_tty
check cancel check_cancel
check quit check_quit
