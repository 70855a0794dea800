using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tether.LocalGateway.Template;

/// <summary>What a request template can read while it renders: API Gateway's <c>$context</c>, stage variables and the request.</summary>
public sealed class TemplateInput
{
    public required IReadOnlyDictionary<string, string> Context { get; init; }
    public required IReadOnlyDictionary<string, string> StageVariables { get; init; }

    /// <summary>The client's message; empty on <c>$connect</c> and <c>$disconnect</c>.</summary>
    public string Body { get; init; } = "";

    /// <summary>Query-string parameters (only on <c>$connect</c>, as at API Gateway).</summary>
    public IReadOnlyDictionary<string, string> Query { get; init; } = new Dictionary<string, string>();

    /// <summary>Request headers (only on <c>$connect</c>), case-insensitive.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
}

/// <summary>Rendering failed at request time (e.g. <c>$input.json</c> over a body that is not JSON): API Gateway answers with an error frame.</summary>
public sealed class TemplateRenderException(string message) : Exception(message);

/// <summary>
/// The subset of API Gateway's Velocity (VTL) request templates that our templates need, parsed once at start:
/// literal text, <c>$context.*</c>, <c>$stageVariables.*</c>, <c>$input.body</c>, <c>$input.json('$')</c> (and
/// <c>$.a.b</c> paths), <c>$input.params('name')</c>, <c>$util.escapeJavaScript(...)</c>, <c>.replaceAll(a, b)</c> and a
/// final <c>.matches(a)</c>.
/// Anything else (directives such as <c>#set</c>/<c>#if</c>, other methods, unknown variables) is refused at parse time
/// with the template's name and the construct, so a template never renders differently here than at AWS without notice.
/// </summary>
public sealed class RequestTemplate
{
    /// <summary>The <c>$context</c> variables the local gateway fills in.</summary>
    public static readonly IReadOnlySet<string> ContextVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "connectionId", "routeKey", "eventType", "requestId", "extendedRequestId", "messageId", "messageDirection",
        "connectedAt", "requestTimeEpoch", "requestTime", "domainName", "stage", "apiId", "identity.sourceIp",
        "identity.userAgent", "authorizer.principalId", "disconnectStatusCode", "disconnectReason",
    };

    private static readonly string[] Directives =
        ["set", "if", "elseif", "else", "end", "foreach", "macro", "include", "parse", "define", "break", "stop", "evaluate"];

    private readonly List<Node> _nodes;

    private RequestTemplate(string name, string text, List<Node> nodes)
    {
        Name = name;
        Text = text;
        _nodes = nodes;
    }

    public string Name { get; }
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; <see cref="GatewayConfigurationException"/> names <paramref name="name"/> and the unsupported construct.</summary>
    public static RequestTemplate Parse(string name, string text) => new(name, text, new Parser(name, text).ParseAll());

    public string Render(TemplateInput input)
    {
        var output = new StringBuilder(Text.Length + input.Body.Length);
        foreach (var node in _nodes) output.Append(node.Evaluate(input));
        return output.ToString();
    }

    /// <summary>Apache Commons' <c>escapeJavaScript</c>, which API Gateway's <c>$util.escapeJavaScript</c> uses (it escapes <c>'</c> too, which JSON does not allow).</summary>
    public static string EscapeJavaScript(string value)
    {
        var builder = new StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\'': builder.Append("\\'"); break;
                case '\\': builder.Append("\\\\"); break;
                case '/': builder.Append("\\/"); break;
                case '\b': builder.Append("\\b"); break;
                case '\n': builder.Append("\\n"); break;
                case '\t': builder.Append("\\t"); break;
                case '\f': builder.Append("\\f"); break;
                case '\r': builder.Append("\\r"); break;
                default:
                    if (c < 0x20 || c > 0x7e) builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    else builder.Append(c);
                    break;
            }
        }
        return builder.ToString();
    }

    private abstract record Node
    {
        public abstract string Evaluate(TemplateInput input);
    }

    private sealed record Literal(string Text) : Node
    {
        public override string Evaluate(TemplateInput input) => Text;
    }

    private sealed record ContextVariable(string Name) : Node
    {
        public override string Evaluate(TemplateInput input) => input.Context.GetValueOrDefault(Name, "");
    }

    private sealed record StageVariable(string Name) : Node
    {
        public override string Evaluate(TemplateInput input) => input.StageVariables.GetValueOrDefault(Name, "");
    }

    private sealed record InputBody : Node
    {
        public override string Evaluate(TemplateInput input) => input.Body;
    }

    private sealed record InputParam(string Name) : Node
    {
        // API Gateway looks in the path, then the query string, then the headers.
        public override string Evaluate(TemplateInput input) =>
            input.Query.TryGetValue(Name, out var q) ? q : input.Headers.TryGetValue(Name, out var h) ? h : "";
    }

    private sealed record InputJson(string[] Path) : Node
    {
        public override string Evaluate(TemplateInput input)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(input.Body);
            }
            catch (JsonException)
            {
                throw new TemplateRenderException("$input.json() over a body that is not JSON.");
            }
            using (document)
            {
                var element = document.RootElement;
                foreach (var segment in Path)
                {
                    if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(segment, out element)) return "\"\"";
                }
                return element.GetRawText();
            }
        }
    }

    private sealed record EscapeJavaScriptCall(Node Argument) : Node
    {
        public override string Evaluate(TemplateInput input) => EscapeJavaScript(Argument.Evaluate(input));
    }

    private sealed record ReplaceAllCall(Node Target, Regex Pattern, string Replacement) : Node
    {
        public override string Evaluate(TemplateInput input) => Pattern.Replace(Target.Evaluate(input), Replacement);
    }

    /// <summary><c>.matches("regex")</c>: Velocity renders Java's boolean as <c>true</c> or <c>false</c>, so a template can emit a JSON boolean.</summary>
    private sealed record MatchesCall(Node Target, Regex Pattern) : Node
    {
        public override string Evaluate(TemplateInput input) => Pattern.IsMatch(Target.Evaluate(input)) ? "true" : "false";
    }

    private sealed class Parser(string name, string text)
    {
        private int _at;

        public List<Node> ParseAll()
        {
            var nodes = new List<Node>();
            var literal = new StringBuilder();
            while (_at < text.Length)
            {
                var c = text[_at];
                if (c == '#' && IsDirectiveStart(_at))
                {
                    throw Unsupported(_at, "a VTL directive or comment (" + Snippet(_at) + ")");
                }
                if (c == '$' && _at + 1 < text.Length && (char.IsAsciiLetter(text[_at + 1]) || text[_at + 1] is '{' or '!'))
                {
                    if (literal.Length > 0) nodes.Add(new Literal(literal.ToString()));
                    literal.Clear();
                    nodes.Add(ParseReference());
                    continue;
                }
                literal.Append(c);
                _at++;
            }
            if (literal.Length > 0) nodes.Add(new Literal(literal.ToString()));
            return nodes;
        }

        private bool IsDirectiveStart(int at)
        {
            if (at + 1 >= text.Length) return false;
            var next = text[at + 1];
            if (next is '#' or '*' or '{') return true;
            return Directives.Any(d => string.CompareOrdinal(text, at + 1, d, 0, d.Length) == 0 &&
                                       (at + 1 + d.Length >= text.Length || !char.IsAsciiLetterOrDigit(text[at + 1 + d.Length])));
        }

        /// <summary><c>$a.b.c</c>, <c>${a.b}</c>, <c>$!a</c>, with method calls and a <c>.replaceAll(...)</c> chain.</summary>
        private Node ParseReference()
        {
            var start = _at;
            _at++; // $
            if (Peek() == '!') _at++;
            var braced = Peek() == '{';
            if (braced) _at++;

            var root = Identifier(start);
            Node node = root switch
            {
                "context" => ParseContext(start),
                "stageVariables" => new StageVariable(Member(start)),
                "input" => ParseInput(start),
                "util" => ParseUtil(start),
                _ => throw Unsupported(start, $"the variable ${root} (supported: $context, $input, $stageVariables, $util)"),
            };

            while (Peek() == '.' && _at + 1 < text.Length && char.IsAsciiLetter(text[_at + 1]))
            {
                var methodAt = _at;
                _at++;
                var method = Identifier(methodAt);
                // A boolean has no string methods: nothing may follow .matches(...).
                if (node is MatchesCall || method is not ("replaceAll" or "matches") || Peek() != '(')
                {
                    throw Unsupported(methodAt, $"the method .{method}(...) (only .replaceAll(\"regex\", \"replacement\") and a final .matches(\"regex\") are supported)");
                }
                if (method == "matches")
                {
                    // Java's String.matches: the whole value must match.
                    node = new MatchesCall(node, Pattern(methodAt, method, "\\A(?:" + StringArguments(methodAt, 1)[0] + ")\\z"));
                    continue;
                }
                var args = StringArguments(methodAt, 2);
                node = new ReplaceAllCall(node, Pattern(methodAt, method, args[0]), args[1]);
            }

            if (braced)
            {
                if (Peek() != '}') throw Unsupported(start, "an unterminated ${...} reference");
                _at++;
            }
            return node;
        }

        private Regex Pattern(int methodAt, string method, string pattern)
        {
            try
            {
                return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw Unsupported(methodAt, $"the regular expression \"{pattern}\" in .{method} ({e.Message})");
            }
        }

        private ContextVariable ParseContext(int start)
        {
            var path = Member(start);
            while (Peek() == '.' && _at + 1 < text.Length && char.IsAsciiLetter(text[_at + 1]) && ContextVariables.Contains(path + "." + PeekIdentifier(_at + 1)))
            {
                _at++;
                path += "." + Identifier(start);
            }
            if (!ContextVariables.Contains(path))
            {
                throw Unsupported(start, $"the variable $context.{path} (supported: {string.Join(", ", ContextVariables.Order(StringComparer.Ordinal))})");
            }
            return new ContextVariable(path);
        }

        private Node ParseInput(int start)
        {
            var member = Member(start);
            switch (member)
            {
                case "body":
                    return new InputBody();
                case "params":
                    if (Peek() != '(') throw Unsupported(start, "$input.params without a name (only $input.params('name') is supported)");
                    return new InputParam(StringArguments(start, 1)[0]);
                case "json":
                    if (Peek() != '(') throw Unsupported(start, "$input.json without a path");
                    var path = StringArguments(start, 1)[0];
                    if (path == "$") return new InputJson([]);
                    if (!path.StartsWith("$.", StringComparison.Ordinal) || path[2..].Split('.').Any(s => s.Length == 0 || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
                    {
                        throw Unsupported(start, $"the JSONPath '{path}' (only '$' and '$.a.b' member paths are supported)");
                    }
                    return new InputJson(path[2..].Split('.'));
                default:
                    throw Unsupported(start, $"$input.{member} (supported: $input.body, $input.json('$'), $input.params('name'))");
            }
        }

        private EscapeJavaScriptCall ParseUtil(int start)
        {
            var member = Member(start);
            if (member != "escapeJavaScript") throw Unsupported(start, $"$util.{member} (only $util.escapeJavaScript is supported)");
            if (Peek() != '(') throw Unsupported(start, "$util.escapeJavaScript without an argument");
            _at++;
            SkipSpaces();
            Node argument;
            if (Peek() == '$') argument = ParseReference();
            else if (Peek() is '"' or '\'') argument = new Literal(StringLiteral(start));
            else throw Unsupported(start, "an argument of $util.escapeJavaScript that is neither a reference nor a string");
            SkipSpaces();
            if (Peek() != ')') throw Unsupported(start, "$util.escapeJavaScript with more than one argument or no ')'");
            _at++;
            return new EscapeJavaScriptCall(argument);
        }

        private string Member(int start)
        {
            if (Peek() != '.') throw Unsupported(start, $"'{Snippet(start)}' (a member such as .connectionId is expected)");
            _at++;
            return Identifier(start);
        }

        private string[] StringArguments(int start, int count)
        {
            _at++; // (
            var args = new List<string>();
            while (true)
            {
                SkipSpaces();
                if (Peek() is not ('"' or '\'')) throw Unsupported(start, $"'{Snippet(start)}' (only string literals are supported as arguments here)");
                args.Add(StringLiteral(start));
                SkipSpaces();
                if (Peek() == ',') { _at++; continue; }
                if (Peek() == ')') { _at++; break; }
                throw Unsupported(start, $"'{Snippet(start)}' (unterminated argument list)");
            }
            if (args.Count != count) throw Unsupported(start, $"'{Snippet(start)}' ({count} argument(s) expected)");
            return [.. args];
        }

        /// <summary>A Velocity string literal: no escape sequences, and no interpolation (a <c>$</c> inside is refused).</summary>
        private string StringLiteral(int start)
        {
            var quote = text[_at];
            var end = text.IndexOf(quote, _at + 1);
            if (end < 0) throw Unsupported(start, "an unterminated string literal");
            var value = text[(_at + 1)..end];
            if (quote == '"' && value.Contains('$')) throw Unsupported(start, $"interpolation inside the string \"{value}\"");
            _at = end + 1;
            return value;
        }

        private string Identifier(int start)
        {
            var begin = _at;
            while (_at < text.Length && (char.IsAsciiLetterOrDigit(text[_at]) || text[_at] == '_')) _at++;
            if (_at == begin) throw Unsupported(start, $"'{Snippet(start)}' (an identifier is expected)");
            return text[begin.._at];
        }

        private string PeekIdentifier(int at)
        {
            var end = at;
            while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
            return text[at..end];
        }

        private char Peek() => _at < text.Length ? text[_at] : '\0';

        private void SkipSpaces()
        {
            while (_at < text.Length && text[_at] == ' ') _at++;
        }

        private string Snippet(int at) => text.Substring(at, Math.Min(40, text.Length - at));

        private GatewayConfigurationException Unsupported(int at, string what) =>
            new($"Request template {name}: unsupported {what} at character {at + 1}. The local gateway implements only the VTL subset in docs/local-gateway.md; change the template or extend src/LocalGateway/Template/RequestTemplate.cs.");
    }
}
