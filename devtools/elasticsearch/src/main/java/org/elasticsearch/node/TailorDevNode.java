package org.elasticsearch.node;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.elasticsearch.Build;
import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.env.Environment;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.PluginDescriptor;
import org.elasticsearch.plugins.PluginRuntimeInfo;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.plugins.PluginsService;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.elasticsearch.xcontent.XContentBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Runs one Elasticsearch node inside this JVM, for local development and tests only.
 *
 * <p>Usage: {@code TailorDevNode --run-dir DIR --http-port PORT --transport-port PORT}. The node keeps its
 * data, logs and configuration under {@code DIR}, listens on 127.0.0.1 only, and closes cleanly and exits
 * with status 0 on SIGTERM or SIGINT.
 *
 * <p>The published {@code org.elasticsearch:elasticsearch} artifact is the server without its bundled
 * modules, and its only public constructor loads plugins from directories laid out like a distribution.
 * To use the Netty HTTP layer straight from the classpath, this class supplies its own plugins service
 * through {@link NodeServiceProvider} and {@link NodeConstruction}, which are package-private: that is
 * why it lives in {@code org.elasticsearch.node}. Those internals change between minor versions, so
 * this class targets exactly the version pinned in pom.xml.
 *
 * <p>The optional modules of the distribution (analysis-common, lang-painless, mapper-extras, reindex,
 * rest-root, ...) are not published, so the node has the standard analyzers only, no scripting, no
 * _reindex or _delete_by_query. {@link RootEndpointPlugin} serves the two rest-root endpoints that clients call.
 */
public final class TailorDevNode {
    private static final String USAGE = "usage: TailorDevNode --run-dir DIR --http-port PORT --transport-port PORT";
    private static final String CLUSTER_NAME = "tailor-dev";
    private static final String NODE_NAME = "tailor-dev-node";
    private static final String LOG_CONFIG_RESOURCE = "/tailor-dev-log4j2.properties";
    private static final long CLOSE_TIMEOUT_SECONDS = 30;

    private TailorDevNode() {}

    public static void main(String[] args) {
        setJvmDefaults();
        // LogConfigurator redirects System.out and System.err into the log file. Keep the real console,
        // which devtools/services captures, so that a failed start is reported there.
        PrintStream console = System.err;
        Map<String, String> options;
        try {
            options = parseOptions(args);
        } catch (IllegalArgumentException e) {
            console.println(e.getMessage());
            console.println(USAGE);
            System.exit(2);
            return;
        }
        Path runDir = Path.of(options.get("--run-dir")).toAbsolutePath().normalize();
        int httpPort = parsePort(options, "--http-port", console);
        int transportPort = parsePort(options, "--transport-port", console);

        Environment environment;
        try {
            environment = prepareEnvironment(runDir, httpPort, transportPort);
        } catch (IOException | RuntimeException e) {
            // Logging may not be configured yet, so the console is the only place to report this.
            console.println("Elasticsearch failed to start: cannot prepare " + runDir + ": " + e);
            e.printStackTrace(console);
            System.exit(1);
            return;
        }
        Logger logger = LogManager.getLogger(TailorDevNode.class);
        Node node;
        try {
            node = new Node(NodeConstruction.prepareConstruction(
                environment,
                PluginsLoader.createPluginsLoader(Set.of(), Set.of(), Map.of(), false),
                new ClasspathPluginsServiceProvider(List.of(new Netty4Plugin(), new RootEndpointPlugin())),
                true
            ));
        } catch (RuntimeException e) {
            reportStartFailure(console, logger, runDir, e);
            System.exit(1);
            return;
        }
        try {
            node.start();
        } catch (NodeValidationException | RuntimeException e) {
            reportStartFailure(console, logger, runDir, e);
            closeQuietly(node, logger);
            System.exit(1);
            return;
        }
        // SIGTERM and SIGINT run the shutdown hooks. This one closes the node and halts with status 0 when
        // the close succeeds, where the JVM would exit with 143 after SIGTERM. It is registered only after
        // a successful start, so that a failed start keeps status 1.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            logger.info("stop requested, closing the node");
            int status = closeQuietly(node, logger) ? 0 : 1;
            // log4j's own shutdown hook is disabled (see setJvmDefaults) because it could close the log
            // while the node still writes to it. The files are flushed here instead.
            Configurator.shutdown((LoggerContext) LogManager.getContext(false));
            Runtime.getRuntime().halt(status);
        }, "tailor-dev-node-shutdown"));
        logger.info("development node ready on http://127.0.0.1:{}", httpPort);
        console.println("Elasticsearch " + Build.current().version() + " listening on http://127.0.0.1:" + httpPort);

        // Elasticsearch's thread factory makes daemon threads, so the main thread keeps the JVM alive until
        // the shutdown hook halts it.
        awaitForever();
    }

    /**
     * Sets the system properties that the Elasticsearch distribution passes in jvm.options, unless the
     * caller already set them. They must be set before log4j or Netty load their first class.
     */
    private static void setJvmDefaults() {
        Map<String, String> defaults = Map.of(
            // The node logs while it closes on SIGTERM, so log4j must not shut down on its own first.
            "log4j.shutdownHookEnabled", "false",
            "log4j2.disable.jmx", "true",
            "log4j2.formatMsgNoLookups", "true",
            // Elasticsearch manages Netty's buffers itself and runs Netty without sun.misc.Unsafe,
            // per-thread recyclers or the selector key set rewrite.
            "io.netty.noUnsafe", "true",
            "io.netty.noKeySetOptimization", "true",
            "io.netty.recycler.maxCapacityPerThread", "0"
        );
        defaults.forEach((key, value) -> {
            if (System.getProperty(key) == null) {
                System.setProperty(key, value);
            }
        });
    }

    private static Map<String, String> parseOptions(String[] args) {
        List<String> known = List.of("--run-dir", "--http-port", "--transport-port");
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            String name = args[i];
            if (known.contains(name) == false) {
                throw new IllegalArgumentException("unknown option [" + name + "]: expected one of " + known);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option [" + name + "] needs a value");
            }
            options.put(name, args[i + 1]);
        }
        for (String name : known) {
            if (options.containsKey(name) == false) {
                throw new IllegalArgumentException("missing option [" + name + "]");
            }
        }
        return options;
    }

    private static int parsePort(Map<String, String> options, String name, PrintStream console) {
        String value = options.get(name);
        try {
            int port = Integer.parseInt(value);
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // Reported below together with out-of-range values.
        }
        console.println("option [" + name + "] must be a TCP port between 1 and 65535, got [" + value + "]");
        console.println(USAGE);
        System.exit(2);
        throw new AssertionError("unreachable");
    }

    /**
     * Lays out the run directory, writes the logging configuration and configures logging, which has to
     * happen before the node is constructed: node construction already logs.
     */
    private static Environment prepareEnvironment(Path runDir, int httpPort, int transportPort) throws IOException {
        Path configDir = runDir.resolve("config");
        Path dataDir = runDir.resolve("data");
        Path logsDir = runDir.resolve("logs");
        for (Path dir : List.of(configDir, dataDir, logsDir)) {
            Files.createDirectories(dir);
        }
        // Rewritten on every start so that edits to the resource in the repository take effect.
        try (InputStream logConfig = TailorDevNode.class.getResourceAsStream(LOG_CONFIG_RESOURCE)) {
            if (logConfig == null) {
                throw new IOException(
                    "resource " + LOG_CONFIG_RESOURCE + " is missing from the classpath; rebuild with `mvn package`"
                );
            }
            Files.copy(logConfig, configDir.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }

        Settings settings = Settings.builder()
            .put("cluster.name", CLUSTER_NAME)
            .put("node.name", NODE_NAME)
            .put("path.home", runDir.toString())
            .put("path.data", dataDir.toString())
            .put("path.logs", logsDir.toString())
            // network.host sets both the bind and the publish address: nothing listens beyond loopback.
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("discovery.type", "single-node")
            // A developer's disk may well be above the 85/90/95 % watermarks. Without this setting the node
            // would refuse to allocate shards or make indices read-only, for reasons unrelated to the code under test.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        // Security, machine learning and the rest of X-Pack are not on the classpath, so there is no
        // xpack.* setting to turn off. Naming one would fail startup as an unknown setting.
        Environment environment = new Environment(settings, configDir);

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(NODE_NAME);
        LogConfigurator.configure(environment, false);
        return environment;
    }

    /** Logs the failure with its stack trace, and names it and the log file on the console. */
    private static void reportStartFailure(PrintStream console, Logger logger, Path runDir, Exception e) {
        logger.error("the development node failed to start", e);
        console.println("Elasticsearch failed to start: " + e);
        console.println("The stack trace is in " + runDir.resolve("logs").resolve(CLUSTER_NAME + ".log"));
    }

    private static boolean closeQuietly(Node node, Logger logger) {
        try {
            node.close();
            if (node.awaitClose(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS) == false) {
                logger.error("the node did not finish closing within {} seconds", CLOSE_TIMEOUT_SECONDS);
                return false;
            }
            logger.info("node closed");
            return true;
        } catch (IOException | RuntimeException e) {
            logger.error("closing the node failed", e);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            logger.error("interrupted while waiting for the node to close", e);
            return false;
        }
    }

    private static void awaitForever() {
        CountDownLatch never = new CountDownLatch(1);
        while (true) {
            try {
                never.await();
            } catch (InterruptedException e) {
                // Nothing interrupts the main thread on purpose, so keep waiting.
            }
        }
    }

    /** Hands the node a plugins service built from plugin instances on the classpath. */
    private static final class ClasspathPluginsServiceProvider extends NodeServiceProvider {
        private final List<Plugin> plugins;

        ClasspathPluginsServiceProvider(List<Plugin> plugins) {
            this.plugins = plugins;
        }

        @Override
        PluginsService newPluginService(Environment environment, PluginsLoader pluginsLoader) {
            return new ClasspathPluginsService(environment, pluginsLoader, plugins);
        }
    }

    /**
     * A plugins service whose plugins are given instances rather than bundles found under path.home.
     *
     * <p>Every query method of {@link PluginsService} reads {@code plugins()}, a list of the
     * package-private record {@code PluginsService.LoadedPlugin}. This class cannot name that type from
     * outside {@code org.elasticsearch.plugins}, so it builds the records reflectively and returns the
     * list raw. All jars sit on the class path, in the unnamed module, so the reflective access is
     * permitted without --add-opens.
     */
    private static final class ClasspathPluginsService extends PluginsService {
        @SuppressWarnings("rawtypes")
        private final List loadedPlugins;
        private final List<PluginDescriptor> descriptors;

        ClasspathPluginsService(Environment environment, PluginsLoader pluginsLoader, List<Plugin> plugins) {
            // The loader contains no bundles, so the superclass finds no plugins. It still has to run because
            // it sets up the stable plugin registry and the deprecation checks.
            super(environment.settings(), environment.modulesDir(), pluginsLoader);
            this.descriptors = plugins.stream().map(ClasspathPluginsService::describe).toList();
            this.loadedPlugins = plugins.stream().map(ClasspathPluginsService::newLoadedPlugin).toList();
        }

        @Override
        @SuppressWarnings({ "rawtypes", "unchecked" })
        protected List plugins() {
            return loadedPlugins;
        }

        /** Lists the classpath plugins in the nodes info API and in _cat/plugins. */
        @Override
        public PluginsAndModules info() {
            return new PluginsAndModules(descriptors.stream().map(PluginRuntimeInfo::new).toList(), List.of());
        }

        private static PluginDescriptor describe(Plugin plugin) {
            String version = Build.current().version();
            return new PluginDescriptor(
                pluginName(plugin),
                "loaded from the classpath by TailorDevNode",
                version,
                version,
                Integer.toString(Runtime.version().feature()),
                plugin.getClass().getName(),
                null,
                List.of(),
                false,
                false,
                false,
                false
            );
        }

        private static String pluginName(Plugin plugin) {
            if (plugin instanceof Netty4Plugin) {
                return "transport-netty4";
            }
            if (plugin instanceof RootEndpointPlugin) {
                return "tailor-rest-root";
            }
            return plugin.getClass().getName();
        }

        private static Object newLoadedPlugin(Plugin plugin) {
            Constructor<?> constructor;
            try {
                Class<?> type = Class.forName("org.elasticsearch.plugins.PluginsService$LoadedPlugin");
                constructor = type.getDeclaredConstructor(PluginDescriptor.class, Plugin.class, ClassLoader.class);
                constructor.setAccessible(true);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(
                    "cannot register plugin "
                        + plugin.getClass().getName()
                        + ": this Elasticsearch has no constructor"
                        + " PluginsService.LoadedPlugin(PluginDescriptor, Plugin, ClassLoader), which TailorDevNode"
                        + " was written against (8.19); adapt TailorDevNode to the Elasticsearch version in pom.xml",
                    e
                );
            }
            try {
                return constructor.newInstance(describe(plugin), plugin, plugin.getClass().getClassLoader());
            } catch (InvocationTargetException e) {
                throw new IllegalStateException("cannot register plugin " + plugin.getClass().getName(), e.getCause());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot register plugin " + plugin.getClass().getName(), e);
            }
        }
    }

    /**
     * Serves {@code GET /} and {@code HEAD /} as the distribution's rest-root module does. That module is
     * not published, and without it {@code Elasticsearch.info()} fails and {@code Elasticsearch.ping()}
     * returns False in the Python client, although the node is healthy.
     */
    private static final class RootEndpointPlugin extends Plugin implements ActionPlugin {
        private volatile ClusterService clusterService;

        @Override
        public Collection<?> createComponents(PluginServices services) {
            clusterService = services.clusterService();
            return List.of();
        }

        @Override
        public Collection<RestHandler> getRestHandlers(
            Settings settings,
            NamedWriteableRegistry namedWriteableRegistry,
            RestController restController,
            ClusterSettings clusterSettings,
            IndexScopedSettings indexScopedSettings,
            SettingsFilter settingsFilter,
            IndexNameExpressionResolver indexNameExpressionResolver,
            Supplier<DiscoveryNodes> nodesInCluster,
            Predicate<NodeFeature> clusterSupportsFeature
        ) {
            return List.of(new RootHandler(() -> clusterService));
        }
    }

    private static final class RootHandler extends BaseRestHandler {
        private final Supplier<ClusterService> clusterService;

        RootHandler(Supplier<ClusterService> clusterService) {
            this.clusterService = clusterService;
        }

        @Override
        public String getName() {
            return "tailor_dev_root_action";
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        /** Exempts the endpoint from the circuit breakers, because liveness checks call it when memory is tight too. */
        @Override
        public boolean canTripCircuitBreaker() {
            return false;
        }

        @Override
        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                ClusterService cluster = clusterService.get();
                Build build = Build.current();
                XContentBuilder body = channel.newBuilder();
                // Like the real endpoint, pretty-print unless the request passes ?pretty=false.
                if (request.hasParam("pretty") == false) {
                    body.prettyPrint().lfAtEnd();
                }
                body.startObject()
                    .field("name", cluster.getNodeName())
                    .field("cluster_name", cluster.getClusterName().value())
                    .field("cluster_uuid", cluster.state().metadata().clusterUUID())
                    .startObject("version")
                    .field("number", build.qualifiedVersion())
                    .field("build_flavor", build.flavor())
                    .field("build_type", build.type().displayName())
                    .field("build_hash", build.hash())
                    .field("build_date", build.date())
                    .field("build_snapshot", build.isSnapshot())
                    .field("lucene_version", IndexVersion.current().luceneVersion().toString())
                    .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                    .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                    .endObject()
                    .field("tagline", "You Know, for Search")
                    .endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, body));
            };
        }
    }
}
