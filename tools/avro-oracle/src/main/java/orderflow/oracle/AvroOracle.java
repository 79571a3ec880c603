package orderflow.oracle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityResult;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;

/**
 * Avro Java's answer to "can `reader` read what `writer` wrote", for many pairs in one JVM.
 *
 * <p>Each stdin line is {"reader": schema, "writer": schema}; each gets one stdout line:
 * {"compatible": bool, "incompatibilities": [{"type", "location", "message"}]} as
 * SchemaCompatibility.checkReaderWriterCompatibility says, or {"error": "..."} when a
 * schema does not parse, or {"checkError": "..."} when the check itself throws. Every
 * answer to parsed schemas also has "readerCanonical" and "writerCanonical", their Parsing
 * Canonical Forms: how Java understood them (which type each name refers to, ...).
 */
public final class AvroOracle {
  private static final ObjectMapper JSON = new ObjectMapper();

  private AvroOracle() {}

  public static void main(String[] args) throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    Writer out =
        new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      out.write(JSON.writeValueAsString(answer(line)));
      out.write('\n');
    }
    out.flush();
  }

  private static ObjectNode answer(String line) {
    ObjectNode answer = JSON.createObjectNode();
    JsonNode pair;
    try {
      pair = JSON.readTree(line);
    } catch (IOException e) {
      return answer.put("error", "input is not JSON: " + e.getMessage());
    }
    Schema reader;
    Schema writer;
    try {
      reader = parse(pair, "reader");
      writer = parse(pair, "writer");
    } catch (RuntimeException e) {
      return answer.put("error", e.getMessage());
    }
    answer.put("readerCanonical", SchemaNormalization.toParsingForm(reader));
    answer.put("writerCanonical", SchemaNormalization.toParsingForm(writer));
    SchemaCompatibilityResult result;
    try {
      result = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getResult();
    } catch (RuntimeException | StackOverflowError e) {
      return answer.put("checkError", e.toString());
    }
    answer.put("compatible", result.getCompatibility() == SchemaCompatibilityType.COMPATIBLE);
    ArrayNode list = answer.putArray("incompatibilities");
    for (Incompatibility incompatibility : result.getIncompatibilities()) {
      list.addObject()
          .put("type", incompatibility.getType().name())
          .put("location", incompatibility.getLocation())
          .put("message", incompatibility.getMessage());
    }
    return answer;
  }

  /** Each schema with a parser of its own, as a registry parses each version on its own. */
  private static Schema parse(JsonNode pair, String side) {
    JsonNode schema = pair.get(side);
    if (schema == null) {
      throw new IllegalArgumentException("no \"" + side + "\" in the input line");
    }
    try {
      return new Schema.Parser().parse(schema.toString());
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(side + " schema: " + e.getMessage(), e);
    }
  }
}
