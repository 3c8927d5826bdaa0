// Renders tollgate's VTL corpus cases with Apache Velocity 1.7, the engine API Gateway runs, so
// the Rust engine's output can be compared with the real thing. Usage:
//   java -cp velocity-1.7.jar:commons-collections3.jar:commons-lang.jar:. VtlOracle CASE_DIR OUT_DIR
// For every CASE_DIR/*.case whose header has `oracle: yes`, writes OUT_DIR/<name>.out with the
// rendered text, or `ERROR: <message>` when Velocity refuses the template.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

public class VtlOracle {
    public static void main(String[] args) throws Exception {
        VelocityEngine engine = new VelocityEngine();
        engine.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
        engine.init();
        Path out = Paths.get(args[1]);
        Files.createDirectories(out);
        try (DirectoryStream<Path> cases = Files.newDirectoryStream(Paths.get(args[0]), "*.case")) {
            for (Path p : cases) {
                Map<String, String> sections = sections(new String(Files.readAllBytes(p), StandardCharsets.UTF_8));
                if (!sections.getOrDefault("header", "").contains("oracle: yes")) continue;
                VelocityContext ctx = new VelocityContext();
                String vars = sections.get("vars");
                if (vars != null) {
                    Object parsed = new Json(vars).value();
                    for (Map.Entry<?, ?> e : ((Map<?, ?>) parsed).entrySet()) ctx.put((String) e.getKey(), e.getValue());
                }
                StringWriter w = new StringWriter();
                String result;
                try {
                    engine.evaluate(ctx, w, p.getFileName().toString(), sections.getOrDefault("template", ""));
                    result = w.toString();
                } catch (Exception e) {
                    result = "ERROR: " + e.getClass().getSimpleName();
                }
                String name = p.getFileName().toString().replaceAll("\\.case$", ".out");
                Files.write(out.resolve(name), result.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    // Sections start with a line `--- name`; the text before the first is the header. The newline
    // that ends a section's last line belongs to the marker, not to the section.
    static Map<String, String> sections(String text) {
        Map<String, String> m = new HashMap<>();
        String name = "header";
        StringBuilder cur = new StringBuilder();
        if (text.endsWith("\n")) text = text.substring(0, text.length() - 1);
        for (String line : text.split("\n", -1)) {
            if (line.startsWith("--- ")) {
                m.put(name, trimLastNewline(cur));
                name = line.substring(4).trim();
                cur = new StringBuilder();
            } else {
                cur.append(line).append('\n');
            }
        }
        m.put(name, trimLastNewline(cur));
        return m;
    }

    static String trimLastNewline(StringBuilder b) {
        String s = b.toString();
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    // Just enough JSON for test variables: objects become LinkedHashMap, arrays ArrayList,
    // integers Integer (or Long), other numbers Double.
    static final class Json {
        final String s;
        int i;
        Json(String s) { this.s = s; }
        Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '{') {
                i++;
                Map<String, Object> m = new LinkedHashMap<>();
                ws();
                if (s.charAt(i) == '}') { i++; return m; }
                while (true) {
                    ws();
                    String k = (String) value();
                    ws(); i++; // ':'
                    m.put(k, value());
                    ws();
                    if (s.charAt(i++) == '}') return m;
                }
            }
            if (c == '[') {
                i++;
                List<Object> l = new ArrayList<>();
                ws();
                if (s.charAt(i) == ']') { i++; return l; }
                while (true) {
                    l.add(value());
                    ws();
                    if (s.charAt(i++) == ']') return l;
                }
            }
            if (c == '"') {
                StringBuilder b = new StringBuilder();
                i++;
                while (s.charAt(i) != '"') {
                    char ch = s.charAt(i++);
                    if (ch == '\\') {
                        char e = s.charAt(i++);
                        switch (e) {
                            case 'n': b.append('\n'); break;
                            case 't': b.append('\t'); break;
                            case 'r': b.append('\r'); break;
                            case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                            default: b.append(e);
                        }
                    } else b.append(ch);
                }
                i++;
                return b.toString();
            }
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String num = s.substring(start, i);
            if (num.contains(".") || num.contains("e") || num.contains("E")) return Double.valueOf(num);
            long l = Long.parseLong(num);
            if (l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) return (int) l;
            return l;
        }
        void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
    }
}
