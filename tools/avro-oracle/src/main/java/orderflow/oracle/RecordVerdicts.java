package orderflow.oracle;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;

/**
 * Records Avro Java's verdicts into the ported compatibility data
 * (crates/core/tests/compat/), so that the REST API tests expect what Avro Java says and
 * never what the registry's own checker says. Run once after the data changes:
 *
 * <pre>
 * mvn -q -f tools/avro-oracle/pom.xml package -DbuildDirectory=/tmp/avro-oracle
 * java -cp /tmp/avro-oracle/avro-oracle.jar:$(cat /tmp/avro-oracle/classpath.txt) \
 *   orderflow.oracle.RecordVerdicts crates/core/tests/compat
 * </pre>
 *
 * <p>With {@code --check} it writes nothing and fails when a file is not what it would
 * write: crates/core/tests/differential.rs runs that, so the data cannot drift from Avro
 * Java. It adds to each avro_java.json case {@code writer_reads_reader}: the pair's verdict
 * the other way round; to each confluent.json and avro_validation.json case
 * {@code avro_java}: the verdict at every level, the new schema checked against the
 * earlier ones as Confluent's CompatibilityChecker does (BACKWARD: the new schema reads
 * them; FORWARD: they read it; FULL: both; the plain levels against the latest one only).
 * It writes transitive.json: subjects of three versions built from the ported schemas in
 * which each adjacent step passes a level and the oldest and newest do not, so that the
 * level's transitive form refuses what the plain one accepts. Every verdict is
 * SchemaCompatibility.checkReaderWriterCompatibility's, each schema parsed on its own.
 */
public final class RecordVerdicts {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] LEVELS = {
    "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE"
  };

  private RecordVerdicts() {}

  public static void main(String[] args) throws IOException {
    boolean check = args.length == 2 && args[0].equals("--check");
    if (args.length != 1 && !check) {
      throw new IllegalArgumentException(
          "usage: RecordVerdicts [--check] <crates/core/tests/compat>");
    }
    Path dir = Path.of(args[args.length - 1]);
    ObjectNode avro = read(dir.resolve("avro_java.json"));
    ObjectNode confluent = read(dir.resolve("confluent.json"));
    ObjectNode validation = read(dir.resolve("avro_validation.json"));
    for (JsonNode node : avro.get("cases")) {
      ObjectNode c = (ObjectNode) node;
      Schema reader = parse(c.get("reader"));
      Schema writer = parse(c.get("writer"));
      if (reads(reader, writer) != c.get("compatible").asBoolean()) {
        throw new IllegalStateException("recorded verdict is not Avro Java's: " + c.get("name"));
      }
      c.put("writer_reads_reader", reads(writer, reader));
    }
    for (JsonNode node : confluent.get("cases")) {
      recordLevels((ObjectNode) node, "previous");
    }
    for (JsonNode node : validation.get("cases")) {
      recordLevels((ObjectNode) node, "existing");
    }
    Map<String, JsonNode> out = new LinkedHashMap<>();
    out.put("avro_java.json", avro);
    out.put("confluent.json", confluent);
    out.put("avro_validation.json", validation);
    out.put("transitive.json", transitive(avro, confluent, validation));
    List<String> stale = new ArrayList<>();
    for (Map.Entry<String, JsonNode> file : out.entrySet()) {
      Path path = dir.resolve(file.getKey());
      String text = pretty(file.getValue());
      if (!check) {
        Files.writeString(path, text, StandardCharsets.UTF_8);
      } else if (!Files.exists(path) || !Files.readString(path, StandardCharsets.UTF_8).equals(text)) {
        stale.add(file.getKey());
      }
    }
    if (!stale.isEmpty()) {
      System.err.println("not what Avro Java says (record them again): " + stale);
      System.exit(1);
    }
  }

  private static void recordLevels(ObjectNode c, String earlierKey) {
    List<Schema> earlier = new ArrayList<>();
    for (JsonNode schema : c.get(earlierKey)) {
      earlier.add(parse(schema));
    }
    c.set("avro_java", levels(earlier, parse(c.get("new"))));
  }

  /** The verdict at every level for `next` after `earlier` (oldest first). */
  private static ObjectNode levels(List<Schema> earlier, Schema next) {
    ObjectNode verdicts = JSON.createObjectNode();
    for (String level : LEVELS) {
      boolean transitive = level.endsWith("_TRANSITIVE");
      boolean backward = !level.startsWith("FORWARD");
      boolean forward = !level.startsWith("BACKWARD");
      List<Schema> against =
          transitive || earlier.isEmpty()
              ? earlier
              : earlier.subList(earlier.size() - 1, earlier.size());
      boolean compatible = true;
      for (Schema old : against) {
        compatible &= !backward || reads(next, old);
        compatible &= !forward || reads(old, next);
      }
      verdicts.put(level, compatible);
    }
    return verdicts;
  }

  /**
   * Three-version subjects [a, b, c] from the distinct ported schemas: for BACKWARD, b
   * reads a and c reads b but c does not read a; for FORWARD, a reads b and b reads c but
   * a does not read c. One for each distinct pair of schemas that a ported case compares
   * (reader and writer; a new schema and each earlier one, both ways) and that breaks,
   * where such a middle schema exists (the first in the files' order).
   */
  private static ObjectNode transitive(ObjectNode... files) {
    Map<String, JsonNode> distinct = new LinkedHashMap<>();
    for (ObjectNode file : files) {
      for (JsonNode c : file.get("cases")) {
        for (String key : new String[] {"writer", "reader", "previous", "existing", "new"}) {
          JsonNode value = c.get(key);
          if (value == null) {
            continue;
          }
          List<JsonNode> schemas = new ArrayList<>();
          if (key.equals("previous") || key.equals("existing")) {
            value.forEach(schemas::add);
          } else {
            schemas.add(value);
          }
          for (JsonNode s : schemas) {
            distinct.putIfAbsent(s.toString(), s);
          }
        }
      }
    }
    List<JsonNode> json = new ArrayList<>(distinct.values());
    List<Schema> schemas = new ArrayList<>();
    for (JsonNode s : json) {
      schemas.add(parse(s));
    }
    int n = schemas.size();
    boolean[][] reads = new boolean[n][n];
    for (int r = 0; r < n; r++) {
      for (int w = 0; w < n; w++) {
        reads[r][w] = reads(schemas.get(r), schemas.get(w));
      }
    }
    Map<String, Integer> index = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      index.put(json.get(i).toString(), i);
    }
    ObjectNode out = JSON.createObjectNode();
    out.put(
        "source",
        "built by tools/avro-oracle RecordVerdicts from the schemas of avro_java.json,"
            + " confluent.json and avro_validation.json");
    out.put("computed_with", "org.apache.avro:avro:1.12.2 (Maven Central)");
    ArrayNode cases = out.putArray("cases");
    Set<List<Integer>> done = new HashSet<>();
    for (int file = 0; file < files.length; file++) {
      for (JsonNode c : files[file].get("cases")) {
        int[][] pairs;
        if (file == 0) {
          pairs =
              new int[][] {
                {index.get(c.get("reader").toString()), index.get(c.get("writer").toString())}
              };
        } else {
          JsonNode earlier = c.has("previous") ? c.get("previous") : c.get("existing");
          int next = index.get(c.get("new").toString());
          pairs = new int[2 * earlier.size()][];
          for (int i = 0; i < earlier.size(); i++) {
            int old = index.get(earlier.get(i).toString());
            pairs[2 * i] = new int[] {next, old};
            pairs[2 * i + 1] = new int[] {old, next};
          }
        }
        for (int[] pair : pairs) {
          int reader = pair[0];
          int writer = pair[1];
          if (reads[reader][writer] || !done.add(List.of(reader, writer))) {
            continue;
          }
          // BACKWARD: writer's data, then a middle the reader reads, then the reader.
          for (int b = 0; b < n; b++) {
            if (b != reader && b != writer && reads[b][writer] && reads[reader][b]) {
              addChain(cases, c, "BACKWARD", json, schemas, writer, b, reader);
              break;
            }
          }
          // FORWARD: the reader first, then a middle it reads, then the writer.
          for (int b = 0; b < n; b++) {
            if (b != reader && b != writer && reads[reader][b] && reads[b][writer]) {
              addChain(cases, c, "FORWARD", json, schemas, reader, b, writer);
              break;
            }
          }
        }
      }
    }
    return out;
  }

  private static void addChain(
      ArrayNode cases,
      JsonNode from,
      String breaks,
      List<JsonNode> json,
      List<Schema> schemas,
      int a,
      int b,
      int c) {
    ObjectNode chain = cases.addObject();
    chain.put("name", breaks + "_TRANSITIVE breaks, " + from.get("name").asText());
    chain.put("breaks", breaks + "_TRANSITIVE");
    chain.putArray("previous").add(json.get(a)).add(json.get(b));
    chain.set("new", json.get(c));
    chain.set("avro_java", levels(List.of(schemas.get(a), schemas.get(b)), schemas.get(c)));
  }

  private static boolean reads(Schema reader, Schema writer) {
    return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer)
            .getResult()
            .getCompatibility()
        == SchemaCompatibilityType.COMPATIBLE;
  }

  private static Schema parse(JsonNode schema) {
    return new Schema.Parser().parse(schema.toString());
  }

  private static ObjectNode read(Path file) throws IOException {
    return (ObjectNode) JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
  }

  /** As serde_json's pretty printer writes it, so that a rewrite changes only what is new. */
  private static String pretty(JsonNode value) throws IOException {
    DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
    Separators separators =
        Separators.createDefaultInstance()
            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
            .withObjectEmptySeparator("")
            .withArrayEmptySeparator("");
    DefaultPrettyPrinter printer =
        new DefaultPrettyPrinter(separators)
            .withObjectIndenter(indenter)
            .withArrayIndenter(indenter);
    return JSON.writer(printer).writeValueAsString(value) + "\n";
  }
}
