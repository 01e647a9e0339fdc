package aidrop.neo4j;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.kernel.api.procedure.GlobalProcedures;
import org.neo4j.kernel.internal.GraphDatabaseAPI;
import org.neo4j.procedure.Procedure;
import org.neo4j.procedure.UserAggregationFunction;
import org.neo4j.procedure.UserFunction;

/**
 * The local Neo4j of aidrop: an embedded Community DBMS with Bolt on 127.0.0.1 and the GDS and
 * APOC procedures of the classpath registered, running until it is stopped (SIGTERM).
 *
 * <p>Usage: {@code Launcher HOME PORT PASSWORD_FILE}. The DBMS keeps its files under HOME; the
 * password of the user {@code neo4j} is read from PASSWORD_FILE (written 0600 by aidrop). HOME/neo4j.pid
 * holds the process id from the start, HOME/ready the Bolt port once procedures are registered:
 * Bolt answers before that, so clients wait for the file.
 *
 * <p>Embedded, Neo4j loads procedures only from jars in its plugin folder; GDS and APOC are on
 * the classpath instead (GDS's extensions load only from there), so their annotated classes are
 * found in their jars and registered once the DBMS runs.
 */
public final class Launcher {
    /** Jars whose procedures and functions are registered (file names in the classpath). */
    private static final List<String> PROCEDURE_JARS = List.of("apoc-", "proc", "alpha-", "cypher-aggregation", "open");
    /** Packages scanned in those jars. */
    private static final List<String> PACKAGES = List.of("org/neo4j/gds/", "apoc/");

    private static final List<String> ANNOTATIONS = List.of(
            "Lorg/neo4j/procedure/Procedure;", "Lorg/neo4j/procedure/UserFunction;",
            "Lorg/neo4j/procedure/UserAggregationFunction;");

    private Launcher() {}

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1); // Neo4j's threads would keep a failed start alive
        }
    }

    private static void run(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Launcher HOME PORT PASSWORD_FILE");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = Files.readString(Path.of(args[2]), StandardCharsets.UTF_8).strip();
        Files.createDirectories(home);
        Path ready = home.resolve("ready");
        Files.deleteIfExists(ready);
        Files.writeString(home.resolve("neo4j.pid"), Long.toString(ProcessHandle.current().pid()));

        long t0 = System.nanoTime();
        Path conf = home.resolve("neo4j.conf");
        Files.writeString(conf, config(port));
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home).loadPropertiesFromFile(conf).build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            try {
                Files.deleteIfExists(ready);
                Files.deleteIfExists(home.resolve("neo4j.pid"));
            } catch (IOException ignored) {
                // the next start rewrites both
            }
            stopped.countDown();
        }, "aidrop-neo4j-shutdown"));

        double started = (System.nanoTime() - t0) / 1e9;
        setPassword(dbms, password);
        GraphDatabaseService db = dbms.database("neo4j");
        int[] counts = register(((GraphDatabaseAPI) db).getDependencyResolver().resolveDependency(GlobalProcedures.class));
        String version = db.executeTransactionally(
                "RETURN gds.version() AS gds, apoc.version() AS apoc", Map.of(),
                r -> { var row = r.next(); return "GDS " + row.get("gds") + ", APOC " + row.get("apoc"); });
        Files.writeString(ready, Integer.toString(port));
        System.out.printf("aidrop neo4j: bolt://127.0.0.1:%d ready in %.1f s, DBMS %.1f s (%s; %d procedure and %d function classes)%n",
                port, (System.nanoTime() - t0) / 1e9, started, version, counts[0], counts[1]);
        System.out.flush();
        stopped.await();
    }

    /** neo4j.conf of this DBMS (the settings of docker-compose.yml where they apply). */
    private static String config(int port) {
        Map<String, String> c = new TreeMap<>();
        c.put("server.bolt.enabled", "true");
        c.put("server.bolt.listen_address", "127.0.0.1:" + port);
        c.put("server.bolt.advertised_address", "127.0.0.1:" + port);
        c.put("dbms.security.auth_enabled", "true");
        c.put("dbms.security.procedures.unrestricted", "gds.*,apoc.*");
        c.put("server.memory.pagecache.size", env("AIDROP_NEO4J_PAGECACHE", "512m"));
        c.put("db.transaction.timeout", "0");
        // a query's own timeout (the API's reads) is checked every 100 ms, not every 2 s
        c.put("db.transaction.monitor.check.interval", "100ms");
        StringBuilder text = new StringBuilder("# written by aidrop's launcher at every start\n");
        c.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        return text.toString();
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }

    /** The user neo4j gets the password of the file; setting the one it has already is refused. */
    private static void setPassword(DatabaseManagementService dbms, String password) {
        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
        } catch (RuntimeException e) {
            if (!String.valueOf(e.getMessage()).contains("same")) {
                throw e;
            }
        }
    }

    /** Registers every procedure, function and aggregation class of the GDS and APOC jars. */
    private static int[] register(GlobalProcedures procedures) throws IOException {
        int[] counts = new int[2];
        ClassLoader loader = Launcher.class.getClassLoader();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            if (!name.endsWith(".jar") || PROCEDURE_JARS.stream().noneMatch(name::startsWith)) {
                continue;
            }
            try (JarFile jar = new JarFile(entry)) {
                for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                    JarEntry item = e.nextElement();
                    String file = item.getName();
                    if (file.endsWith(".class") && !file.contains("$") && PACKAGES.stream().anyMatch(file::startsWith)
                            && annotated(jar, item)) {
                        registerClass(procedures, loader, file.substring(0, file.length() - 6).replace('/', '.'), counts);
                    }
                }
            }
        }
        return counts;
    }

    /** Whether a class file names one of the annotations (loading every class costs 20 s). */
    private static boolean annotated(JarFile jar, JarEntry item) throws IOException {
        try (var in = jar.getInputStream(item)) {
            String bytes = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            return ANNOTATIONS.stream().anyMatch(bytes::contains);
        }
    }

    private static void registerClass(GlobalProcedures procedures, ClassLoader loader, String name, int[] counts) {
        Class<?> type;
        Method[] methods;
        try {
            type = Class.forName(name, false, loader);
            methods = type.getDeclaredMethods();
        } catch (LinkageError | ClassNotFoundException e) {
            return; // optional dependencies of classes aidrop does not call
        }
        boolean proc = false, func = false, agg = false;
        for (Method m : methods) {
            proc |= m.isAnnotationPresent(Procedure.class);
            func |= m.isAnnotationPresent(UserFunction.class);
            agg |= m.isAnnotationPresent(UserAggregationFunction.class);
        }
        List<String> failures = new ArrayList<>();
        try {
            if (proc) {
                procedures.registerProcedure(type);
                counts[0]++;
            }
            if (func) {
                procedures.registerFunction(type);
                counts[1]++;
            }
            if (agg) {
                procedures.registerAggregationFunction(type);
                counts[1]++;
            }
        } catch (Exception | LinkageError e) {
            // "already registered": another class or the DBMS itself provides it
            if (!String.valueOf(e.getMessage()).contains("already")) {
                failures.add(name + ": " + e.getMessage());
            }
        }
        failures.forEach(f -> System.err.println("aidrop neo4j: not registered " + f));
    }
}
