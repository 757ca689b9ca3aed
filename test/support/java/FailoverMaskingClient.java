import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * One JDBC connection through mysqlda that routes, sets a session variable and prepares a statement (server-side),
 * prints "ready", waits for a line on stdin (the test kills the library's master meanwhile), then runs the
 * prepared statement again and prints what it saw: "after n=<n> port=<port> wait_timeout=<s>" or "error <code> ...".
 * Arguments: the proxy's port, the key.
 */
public class FailoverMaskingClient {
  public static void main(String[] args) throws Exception {
    String url = "jdbc:mariadb://127.0.0.1:" + args[0] + "/calvindb?user=calvin&password=calvin"
        + "&useServerPrepStmts=true&connectTimeout=30000&socketTimeout=60000";
    try (Connection connection = DriverManager.getConnection(url)) {
      try (Statement statement = connection.createStatement()) {
        statement.execute("select library " + args[1]);
        statement.execute("SET SESSION wait_timeout = 4321");
      }
      PreparedStatement prepared = connection.prepareStatement("select ? + 1 as n, @@port as port, @@session.wait_timeout as wt");
      System.out.println("before " + run(prepared, 1));
      System.out.println("ready");
      new BufferedReader(new InputStreamReader(System.in)).readLine();
      System.out.println("after " + run(prepared, 41));
    } catch (SQLException e) {
      System.out.println("error " + e.getErrorCode() + " " + e.getMessage());
      System.exit(1);
    }
  }

  private static String run(PreparedStatement prepared, int value) throws SQLException {
    prepared.setInt(1, value);
    try (ResultSet rows = prepared.executeQuery()) {
      rows.next();
      return "n=" + rows.getInt(1) + " port=" + rows.getInt(2) + " wait_timeout=" + rows.getInt(3);
    }
  }
}
