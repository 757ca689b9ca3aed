import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.mariadb.jdbc.MariaDbConnection;
import org.mariadb.jdbc.MariaDbPoolDataSource;

/**
 * The compatibility scenario (test/compat/README.md) with MariaDB Connector/J: server-side prepared statements
 * (useServerPrepStmts=true), useResetConnection=true, a CallableStatement, a batch, and MariaDbPoolDataSource.
 * Prints one JSON line per check.
 */
public final class CompatCheck {
  private static final Map<String, String> ENV = System.getenv();
  private static final String CLIENT = env("COMPAT_CLIENT");

  interface Body {
    String run() throws Exception;
  }

  private static Connection a;
  private static String before = "";
  private static String library = "";

  public static void main(String[] args) throws Exception {
    String url = "jdbc:mariadb://" + env("COMPAT_HOST") + ":" + env("COMPAT_PORT") + "/" + env("COMPAT_DATABASE")
        + "?user=" + env("COMPAT_USER") + "&password=" + env("COMPAT_PASSWORD")
        + "&useServerPrepStmts=true&useResetConnection=true&allowMultiQueries=true&allowLocalInfile=true"
        + "&connectTimeout=30000&socketTimeout=60000";

    emitVersion("MariaDB Connector/J " + driverVersion());
    check("connect", () -> {
      a = DriverManager.getConnection(url);
      // JDBC API settings made before any library: SET SESSION TRANSACTION ISOLATION LEVEL ...
      a.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      execute(a, "SET time_zone = '" + env("COMPAT_TIME_ZONE") + "'");
      before = settings(a);
      return null;
    });

    check("lobby-refuses-data", () -> {
      expectError(a, env("COMPAT_SQL_LOBBY_DATA"), 7101);
      equal(scalar(a, "SELECT 1"), "1", "SELECT 1 afterwards");
      return null;
    });

    check("select-library", () -> {
      execute(a, "select library " + env("COMPAT_KEY"));
      String[] shown = showLibrary(a);
      equal(shown[1], env("COMPAT_KEY"), "show library key");
      library = shown[0];
      equal(scalar(a, "SELECT @@port"), shown[2].substring(shown[2].lastIndexOf(':') + 1), "@@port against show library server");
      return shown[0] + " " + shown[2];
    });

    check("lobby-settings", () -> {
      String after = settings(a);
      equal(after, before, "settings after select library");
      equal(scalar(a, "SELECT @@time_zone"), env("COMPAT_TIME_ZONE"), "time_zone");
      return null;
    });

    check("connect-chatter", () -> {
      // Connector/J's connect-time `set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')`.
      String sqlMode = scalar(a, "SELECT @@sql_mode");
      if (!sqlMode.contains("STRICT_TRANS_TABLES")) throw new AssertionError("sql_mode lacks STRICT_TRANS_TABLES: " + sqlMode);
      equal(scalar(a, "SELECT @@autocommit"), "1", "autocommit");
      equal(scalar(a, "SELECT @@tx_isolation"), "READ-COMMITTED", "setTransactionIsolation before select library");
      return sqlMode;
    });

    check("ddl", () -> {
      for (String statement : env("COMPAT_SQL_DDL").split("\n")) execute(a, statement);
      return null;
    });

    check("text-utf8mb4", () -> {
      try (Statement statement = a.createStatement()) {
        statement.executeUpdate(bindLiterals(statement, env("COMPAT_SQL_INSERT_ITEM"), 1, env("COMPAT_TEXT_EMOJI"), null, "1.50"));
        statement.executeUpdate(bindLiterals(statement, env("COMPAT_SQL_INSERT_ITEM"), 2, env("COMPAT_TEXT_CJK"), env("COMPAT_TEXT_NOTE"), null));
        String[] one = textItem(statement, 1);
        String[] two = textItem(statement, 2);
        equal(one[0], env("COMPAT_TEXT_EMOJI"), "emoji label");
        equal(one[3], env("COMPAT_TEXT_EMOJI_HEX"), "emoji HEX(label)");
        equal(two[0], env("COMPAT_TEXT_CJK"), "CJK label");
        equal(two[3], env("COMPAT_TEXT_CJK_HEX"), "CJK HEX(label)");
      }
      return null;
    });

    check("null-values", () -> {
      try (Statement statement = a.createStatement()) {
        String[] one = textItem(statement, 1);
        String[] two = textItem(statement, 2);
        equal(one[1], null, "row 1 note");
        equal(one[2], "1.50", "row 1 amount");
        equal(two[1], env("COMPAT_TEXT_NOTE"), "row 2 note");
        equal(two[2], null, "row 2 amount");
      }
      return null;
    });

    check("prepared", () -> {
      try (PreparedStatement insert = a.prepareStatement(env("COMPAT_SQL_INSERT_ITEM"))) {
        insert.setInt(1, 3);
        insert.setString(2, env("COMPAT_TEXT_MIXED"));
        insert.setNull(3, Types.VARCHAR);
        insert.setBigDecimal(4, new BigDecimal("-2.25"));
        insert.executeUpdate();
      }
      try (PreparedStatement select = a.prepareStatement(env("COMPAT_SQL_SELECT_ITEM"))) {
        select.setInt(1, 3);
        try (ResultSet rs = select.executeQuery()) {
          if (!rs.next()) throw new AssertionError("row 3 missing");
          equal(rs.getString("label"), env("COMPAT_TEXT_MIXED"), "label");
          equal(rs.getString("label_hex"), env("COMPAT_TEXT_MIXED_HEX"), "HEX(label)");
          equal(rs.getString("note"), null, "note");
          equal(rs.getBigDecimal("amount").toPlainString(), "-2.25", "amount");
        }
      }
      return a.getClass().getName();
    });

    check("commit", () -> {
      a.setAutoCommit(false);
      insertItem(a, 10, "committed");
      a.commit();
      a.setAutoCommit(true);
      equal(scalar(a, "SELECT COUNT(*) FROM " + env("COMPAT_TABLE_ITEMS") + " WHERE id = 10"), "1", "rows with id 10");
      return null;
    });

    check("rollback", () -> {
      a.setAutoCommit(false);
      insertItem(a, 11, "rolled back");
      a.rollback();
      a.setAutoCommit(true);
      equal(scalar(a, "SELECT COUNT(*) FROM " + env("COMPAT_TABLE_ITEMS") + " WHERE id = 11"), "0", "rows with id 11");
      return null;
    });

    check("large-result", () -> {
      execute(a, env("COMPAT_SQL_FILL_ROWS"));
      int expected = Integer.parseInt(env("COMPAT_ROWS"));
      int count = 0;
      try (Statement statement = a.createStatement(); ResultSet rs = statement.executeQuery(env("COMPAT_SQL_SELECT_ROWS"))) {
        while (rs.next()) {
          count++;
          if (rs.getInt(1) != count || !rs.getString(2).equals("row-" + count)) {
            throw new AssertionError("row " + count + " is (" + rs.getInt(1) + ", " + rs.getString(2) + ")");
          }
        }
      }
      equal(count, expected, "row count");
      return null;
    });

    check("load-data-local", () -> {
      execute(a, env("COMPAT_SQL_LOAD_DATA"));
      try (Statement statement = a.createStatement(); ResultSet rs = statement.executeQuery(env("COMPAT_SQL_LOADED"))) {
        rs.next();
        equal(rs.getString(1) + " " + rs.getString(2), env("COMPAT_LOADED"), "COUNT(*) and SUM(n) of the loaded rows");
      }
      return null;
    });

    check("blob-4mb", () -> {
      byte[] blob = Files.readAllBytes(Path.of(env("COMPAT_BLOB_FILE")));
      try (PreparedStatement insert = a.prepareStatement(env("COMPAT_SQL_INSERT_BLOB"))) {
        insert.setInt(1, 1);
        // A stream parameter: Connector/J sends it with COM_STMT_SEND_LONG_DATA.
        insert.setBinaryStream(2, new ByteArrayInputStream(blob), blob.length);
        insert.executeUpdate();
      }
      try (PreparedStatement digest = a.prepareStatement(env("COMPAT_SQL_BLOB_DIGEST"))) {
        digest.setInt(1, 1);
        try (ResultSet rs = digest.executeQuery()) {
          rs.next();
          equal(rs.getString("len"), env("COMPAT_BLOB_BYTES"), "LENGTH(data)");
          equal(rs.getString("md5"), env("COMPAT_BLOB_MD5"), "MD5(data)");
        }
      }
      try (PreparedStatement select = a.prepareStatement(env("COMPAT_SQL_SELECT_BLOB"))) {
        select.setInt(1, 1);
        try (ResultSet rs = select.executeQuery()) {
          rs.next();
          byte[] read = rs.getBytes(1);
          if (!Arrays.equals(read, blob)) throw new AssertionError("blob read back differs (" + read.length + " bytes)");
        }
      }
      return null;
    });

    check("large-packet", () -> {
      byte[] blob = Files.readAllBytes(Path.of(env("COMPAT_BIG_BLOB_FILE")));
      try (PreparedStatement insert = a.prepareStatement(env("COMPAT_SQL_INSERT_BLOB"))) {
        insert.setInt(1, 2);
        insert.setBytes(2, blob);
        insert.executeUpdate();
      }
      try (PreparedStatement digest = a.prepareStatement(env("COMPAT_SQL_BLOB_DIGEST"))) {
        digest.setInt(1, 2);
        try (ResultSet rs = digest.executeQuery()) {
          rs.next();
          equal(rs.getString("len"), env("COMPAT_BIG_BLOB_BYTES"), "LENGTH(data)");
          equal(rs.getString("md5"), env("COMPAT_BIG_BLOB_MD5"), "MD5(data)");
        }
      }
      try (PreparedStatement select = a.prepareStatement(env("COMPAT_SQL_SELECT_BLOB"))) {
        select.setInt(1, 2);
        try (ResultSet rs = select.executeQuery()) {
          rs.next();
          byte[] read = rs.getBytes(1);
          if (!Arrays.equals(read, blob)) throw new AssertionError("blob read back differs (" + read.length + " bytes)");
        }
      }
      return null;
    });

    check("error-recovery", () -> {
      expectError(a, env("COMPAT_SQL_ERROR"), 1146);
      equal(scalar(a, "SELECT 1 + 1"), "2", "next statement");
      return null;
    });

    check("procedure-out", () -> {
      try (Statement statement = a.createStatement()) {
        if (!statement.execute(env("COMPAT_SQL_CALL"))) throw new AssertionError("CALL gave no result set");
        try (ResultSet rs = statement.getResultSet()) {
          rs.next();
          equal(rs.getString("input"), "21", "result set of the procedure");
        }
        while (statement.getMoreResults() || statement.getUpdateCount() != -1) {
          // consume the remaining results
        }
      }
      equal(scalar(a, env("COMPAT_SQL_CALL_OUT")), "42", "OUT parameter");
      return null;
    });

    check("callable-out", () -> {
      try (CallableStatement call = a.prepareCall("{call " + env("COMPAT_PROCEDURE") + "(?, ?)}")) {
        call.setInt(1, 21);
        call.registerOutParameter(2, Types.INTEGER);
        call.execute();
        try (ResultSet rs = call.getResultSet()) {
          rs.next();
          equal(rs.getString("input"), "21", "result set of the procedure");
        }
        equal(call.getInt(2), 42, "OUT parameter");
      }
      return null;
    });

    check("multi-statements", () -> {
      try (Statement statement = a.createStatement()) {
        statement.execute(env("COMPAT_SQL_MULTI"));
        String first;
        try (ResultSet rs = statement.getResultSet()) {
          rs.next();
          first = rs.getString(1);
        }
        if (!statement.getMoreResults()) throw new AssertionError("no second result set");
        String second;
        try (ResultSet rs = statement.getResultSet()) {
          rs.next();
          second = rs.getString(1);
        }
        equal(first + "," + second, "1,two", "result sets");
      }
      return null;
    });

    check("batch", () -> {
      try (PreparedStatement insert = a.prepareStatement(env("COMPAT_SQL_INSERT_ITEM"))) {
        for (int id = 1000; id < 2000; id++) {
          insert.setInt(1, id);
          insert.setString(2, "batch-" + id);
          insert.setNull(3, Types.VARCHAR);
          insert.setNull(4, Types.DECIMAL);
          insert.addBatch();
        }
        int[] counts = insert.executeBatch();
        equal(counts.length, 1000, "update counts");
      }
      equal(scalar(a, "SELECT COUNT(*) FROM " + env("COMPAT_TABLE_ITEMS") + " WHERE id BETWEEN 1000 AND 1999"), "1000", "rows inserted");
      return null;
    });

    check("cancel", () -> {
      // Statement.cancel() opens a second connection and sends KILL QUERY with the connection id of the handshake.
      try (Statement sleeper = a.createStatement(); Connection watcher = DriverManager.getConnection(url)) {
        execute(watcher, "select library " + env("COMPAT_KEY"));
        java.util.concurrent.CompletableFuture<String> running = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          try (ResultSet rs = sleeper.executeQuery("SELECT SLEEP(30) AS slept /* compat-cancel */")) {
            rs.next();
            return "returned " + rs.getString(1);
          } catch (SQLException e) {
            return describe(e);
          }
        });
        long deadline = System.currentTimeMillis() + 10_000;
        while (!scalar(watcher, "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30)%compat-cancel%'").equals("1")) {
          if (System.currentTimeMillis() > deadline) throw new AssertionError("the query never showed in the processlist");
          Thread.onSpinWait();
        }
        String cancelError = null;
        try {
          sleeper.cancel();
        } catch (SQLException e) {
          cancelError = describe(e);
        }
        String outcome;
        try {
          outcome = running.get(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          // Not cancelled: stop the query from the watcher (same server, backend thread id from the processlist)
          // so the rest of the scenario is not held up, then report.
          String id = scalar(watcher, "SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30)%compat-cancel%'");
          execute(watcher, "KILL QUERY " + id);
          running.get(10, java.util.concurrent.TimeUnit.SECONDS);
          throw new AssertionError("the query ran on for 5 s after cancel()" + (cancelError == null ? "" : ", which failed: " + cancelError));
        }
        equal(scalar(a, "SELECT 1"), "1", "SELECT 1 after the cancelled query");
        return outcome;
      }
    });

    check("switch-library", () -> {
      String home = showLibrary(a)[2];
      String other = null;
      for (int n = 0; n < 20 && other == null; n++) {
        String candidate = env("COMPAT_OTHER_KEY_PREFIX") + n;
        execute(a, "select library " + candidate);
        if (!showLibrary(a)[0].equals(library)) other = candidate;
      }
      try {
        if (other == null) throw new AssertionError("no key of the other library found in 20 tries");
        String[] there = showLibrary(a);
        equal(scalar(a, "SELECT @@port"), there[2].substring(there[2].lastIndexOf(':') + 1), "@@port on the other library");
        equal(settings(a), before, "settings on the other library");
        equal(scalar(a, "SELECT @@tx_isolation"), "READ-COMMITTED", "isolation on the other library");
      } finally {
        execute(a, "select library " + env("COMPAT_KEY"));
      }
      equal(showLibrary(a)[2], home, "back home");
      equal(settings(a), before, "settings back home");
      return null;
    });

    check("switch-prepared", () -> {
      // Prepare the same SQL on each library in turn, as an application does after each switch. Connector/J caches
      // server-side statements by SQL text (cachePrepStmts, on by default), so it may reuse the id from the other
      // library's backend connection.
      String home = showLibrary(a)[2];
      String other = null;
      for (int n = 0; n < 20 && other == null; n++) {
        String candidate = env("COMPAT_OTHER_KEY_PREFIX") + n;
        execute(a, "select library " + candidate);
        if (!showLibrary(a)[0].equals(library)) other = candidate;
      }
      try {
        if (other == null) throw new AssertionError("no key of the other library found in 20 tries");
        equal(preparedPort(a), showLibrary(a)[2].replaceFirst(".*:", ""), "statement prepared on the other library");
      } finally {
        execute(a, "select library " + env("COMPAT_KEY"));
      }
      equal(preparedPort(a), home.replaceFirst(".*:", ""), "the same statement prepared again back home");
      return null;
    });

    check("correl-alias", () -> {
      execute(a, "set correl_object " + env("COMPAT_CORREL_CLASS") + " " + env("COMPAT_CORREL_OBJECT") + " " + env("COMPAT_KEY"));
      try (Connection b = DriverManager.getConnection(url)) {
        execute(b, "select library_by_correl_object " + env("COMPAT_CORREL_CLASS") + " " + env("COMPAT_CORREL_OBJECT"));
        String[] shown = showLibrary(b);
        equal(shown[0] + " " + shown[1], library + " " + env("COMPAT_KEY"), "show library on the new connection");
        equal(scalar(b, "SELECT label FROM " + env("COMPAT_TABLE_ITEMS") + " WHERE id = 2"), env("COMPAT_TEXT_CJK"), "row 2");
      }
      return null;
    });

    check("lobby-transaction", () -> {
      // As a framework does: autocommit off on a fresh connection, then the statements of the transaction.
      try (Connection c = DriverManager.getConnection(url)) {
        c.setAutoCommit(false);
        execute(c, "select library " + env("COMPAT_KEY"));
        insertItem(c, 12, "lobby transaction");
        c.rollback();
        equal(scalar(a, "SELECT COUNT(*) FROM " + env("COMPAT_TABLE_ITEMS") + " WHERE id = 12"), "0", "rows with id 12 after rollback");
        insertItem(c, 13, "lobby transaction");
        c.commit();
        equal(scalar(a, "SELECT COUNT(*) FROM " + env("COMPAT_TABLE_ITEMS") + " WHERE id = 13"), "1", "rows with id 13 after commit");
      }
      return null;
    });

    check("compression", () -> {
      try (Connection c = DriverManager.getConnection(url + "&useCompression=true")) {
        execute(c, "select library " + env("COMPAT_KEY"));
        equal(scalar(c, "SELECT label FROM " + env("COMPAT_TABLE_ITEMS") + " WHERE id = 2"), env("COMPAT_TEXT_CJK"), "row 2");
      }
      return null;
    });

    check("ping", () -> {
      if (!a.isValid(5)) throw new AssertionError("isValid (COM_PING) returned false");
      equal(scalar(a, "SELECT 1"), "1", "SELECT 1 after ping");
      return null;
    });

    check("reset", () -> {
      execute(a, "SET @compat_marker = 'set'");
      // What MariaDbPoolDataSource calls on a returned connection: COM_RESET_CONNECTION with useResetConnection.
      a.unwrap(MariaDbConnection.class).reset();
      expectReset(a);
      return null;
    });

    check("pool", () -> {
      try (MariaDbPoolDataSource pool = new MariaDbPoolDataSource(url + "&maxPoolSize=1&minPoolSize=1&poolName=compat")) {
        try (Connection first = pool.getConnection()) {
          execute(first, "select library " + env("COMPAT_KEY"));
          execute(first, "SET @compat_marker = 'set'");
        }
        try (Connection again = pool.getConnection()) {
          expectReset(again);
          try (PreparedStatement select = again.prepareStatement(env("COMPAT_SQL_SELECT_ITEM"))) {
            select.setInt(1, 1);
            try (ResultSet rs = select.executeQuery()) {
              if (!rs.next()) throw new AssertionError("row 1 missing");
            }
          }
        }
      }
      return null;
    });

    check("quit", () -> {
      a.close();
      return null;
    });
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private static String env(String name) {
    String value = ENV.get(name);
    if (value == null) throw new IllegalStateException(name + " is not set");
    return value;
  }

  private static void check(String name, Body body) {
    try {
      String detail = body.run();
      emit(name, true, detail);
    } catch (Throwable t) {
      emit(name, false, describe(t));
    }
  }

  private static String describe(Throwable t) {
    StringBuilder out = new StringBuilder();
    String previous = null;
    for (Throwable c = t; c != null && c != c.getCause(); c = c.getCause()) {
      String text = c instanceof SQLException
          ? "ERROR " + ((SQLException) c).getErrorCode() + " (" + ((SQLException) c).getSQLState() + "): " + c.getMessage()
          : c.toString();
      if (previous != null && previous.contains(text.replaceFirst("^ERROR \\d+ \\(\\w*\\): ", ""))) continue;
      if (out.length() > 0) out.append(" / caused by: ");
      out.append(text);
      previous = text;
    }
    return out.toString();
  }

  /** The version in the driver jar's mariadb.properties (no connection needed). */
  private static String driverVersion() throws java.io.IOException {
    java.util.Properties properties = new java.util.Properties();
    try (java.io.InputStream in = MariaDbConnection.class.getClassLoader().getResourceAsStream("mariadb.properties")) {
      if (in != null) properties.load(in);
    }
    return properties.getProperty("version", "(unknown)");
  }

  private static void emitVersion(String version) {
    System.out.println("{\"client\":" + json(CLIENT) + ",\"version\":" + json(version) + "}");
    System.out.flush();
  }

  private static void emit(String check, boolean ok, String detail) {
    String line = "{\"client\":" + json(CLIENT) + ",\"check\":" + json(check) + ",\"ok\":" + ok
        + (detail == null ? "" : ",\"detail\":" + json(detail)) + "}";
    System.out.println(line);
    System.out.flush();
  }

  /** A JSON string, ASCII only (non-ASCII as \\u escapes), so the output encoding never matters. */
  private static String json(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }

  private static void equal(Object actual, Object expected, String what) {
    if (actual == null ? expected != null : !actual.equals(expected)) {
      throw new AssertionError(what + ": expected " + expected + ", got " + actual);
    }
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static String scalar(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
      if (!rs.next()) throw new AssertionError("no row from " + sql);
      return rs.getString(1);
    }
  }

  private static void expectError(Connection connection, String sql, int code) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      if (e.getErrorCode() != code) throw new AssertionError("expected error " + code + ", got " + describe(e));
      return;
    }
    throw new AssertionError("expected error " + code + ", the statement succeeded");
  }

  private static String settings(Connection connection) throws SQLException {
    Map<String, String> values = new TreeMap<>();
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(env("COMPAT_SQL_SETTINGS"))) {
      rs.next();
      ResultSetMetaData meta = rs.getMetaData();
      for (int i = 1; i <= meta.getColumnCount(); i++) values.put(meta.getColumnLabel(i), rs.getString(i));
    }
    return values.toString();
  }

  private static String[] showLibrary(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("show library")) {
      if (!rs.next()) throw new AssertionError("show library gave no row");
      return new String[] {rs.getString("library"), rs.getString("key"), rs.getString("server")};
    }
  }

  /** COMPAT_SQL_INSERT_ITEM with its ? replaced by literals quoted by the driver (Statement.enquoteLiteral). */
  private static String bindLiterals(Statement statement, String sql, Object... values) throws SQLException {
    StringBuilder out = new StringBuilder();
    int next = 0;
    for (char c : sql.toCharArray()) {
      if (c != '?') {
        out.append(c);
        continue;
      }
      Object value = values[next++];
      if (value == null) out.append("NULL");
      else if (value instanceof Integer) out.append(value);
      else out.append(statement.enquoteLiteral(value.toString()));
    }
    return out.toString();
  }

  /** label, note, amount, label_hex of an item, read through the text protocol. */
  private static String[] textItem(Statement statement, int id) throws SQLException {
    String sql = env("COMPAT_SQL_SELECT_ITEM").replace("?", Integer.toString(id));
    try (ResultSet rs = statement.executeQuery(sql)) {
      if (!rs.next()) throw new AssertionError("row " + id + " missing");
      BigDecimal amount = rs.getBigDecimal("amount");
      return new String[] {rs.getString("label"), rs.getString("note"), amount == null ? null : amount.toPlainString(), rs.getString("label_hex")};
    }
  }

  private static void insertItem(Connection connection, int id, String label) throws SQLException {
    try (PreparedStatement insert = connection.prepareStatement(env("COMPAT_SQL_INSERT_ITEM"))) {
      insert.setInt(1, id);
      insert.setString(2, label);
      insert.setNull(3, Types.VARCHAR);
      insert.setNull(4, Types.DECIMAL);
      insert.executeUpdate();
    }
  }

  /** @@port through a server-side prepared statement prepared now. */
  private static String preparedPort(Connection connection) throws SQLException {
    try (PreparedStatement query = connection.prepareStatement("SELECT @@port + ?")) {
      query.setInt(1, 0);
      try (ResultSet rs = query.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private static void expectReset(Connection connection) throws SQLException {
    equal(scalar(connection, "SELECT @compat_marker"), null, "@compat_marker");
    equal(showLibrary(connection)[1], env("COMPAT_KEY"), "show library key");
    scalar(connection, "SELECT COUNT(*) FROM " + env("COMPAT_TABLE_ITEMS"));
  }
}
