// Prompt directives for agent tests. A mock started with `{ directives: true }` never calls a
// tool on its own (agents such as Claude Code always send tools, and a mock that calls the
// first one would have them spawn sub-agents without end). Instead the prompt says what to do:
//   [[tool:NAME]]   call tool NAME (arguments from its schema), once: when the conversation
//                   already holds a tool result, the mock answers in text
//   [[tool:NAME {"k":"v"}]]  the same, with these arguments
//   [[think:TEXT]]  emit TEXT as thinking (reasoning) before the answer
// Without directives the mock answers in text.

const TOOL = /\[\[tool:([A-Za-z0-9_.:-]+)(?: (\{.*?\}))?\]\]/s;
const THINK = /\[\[think:([^\]]*)\]\]/;

/** The directives found in `text` (all the user-side text of a conversation). */
export function directivesIn(text) {
  const t = String(text ?? '');
  const tool = TOOL.exec(t);
  let args = null;
  try {
    args = tool?.[2] ? JSON.parse(tool[2]) : null;
  } catch {}
  return { tool: tool?.[1] ?? null, args, think: THINK.exec(t)?.[1] ?? null };
}

/**
 * The tools a mock may call given what the prompt said (`said`: directivesIn's answer, null
 * without directive mode): only the one the prompt names, and none once a tool result is in
 * the conversation (`answered`), so an agent under test cannot loop.
 */
export function toolsAsSaid(said, tools, nameOf, answered) {
  if (!said) return tools;
  return said.tool && !answered ? tools.filter((t) => nameOf(t) === said.tool) : [];
}
