/**
 * Prompt templates as data (lib/labels/prompts/*.json) and their rendering into chat messages and into
 * the flat text a completion model sees. The template version is part of every teacher cache key.
 *
 * Rendering follows castorini/rank_llm (2023): a passage is `content.replace("Title: Content: ", "")`,
 * stripped, cut to `maxWords` white-space separated words (Python's str.split semantics), with `[n]`
 * inside passages rewritten as `(n)` when `replaceNumbers`; the conversation is flattened in FastChat's
 * vicuna_v1.1 format; `fixText` applies our ftfy subset (text-fix.ts) to the result.
 */
import { ConfigError, show } from "../core/errors";
import type { ChatMessage, LabelWindow } from "./types";
import { fixText } from "./text-fix";
import rankvicunaV1 from "./prompts/rankvicuna-v1.json";
import rankvicunaV0 from "./prompts/rankvicuna-v0.json";
import rankgptChatV1 from "./prompts/rankgpt-chat-v1.json";
import rationaleV1 from "./prompts/rationale-v1.json";

/** A listwise prompt template (one JSON file). `{num}`, `{query}`, `{rank}`, `{content}` are filled in. */
export interface PromptTemplate {
  /** Unique version id, e.g. `rankvicuna-v1`; goes into every cache key. */
  version: string;
  description: string;
  /** `single`: all passages in one user turn; `multi-turn`: one user turn per passage, acknowledged. */
  style: "single" | "multi-turn";
  system: string;
  prefix: string;
  /** multi-turn only: the assistant's answer to the prefix. */
  prefixAck?: string;
  passage: string;
  /** multi-turn only: the assistant's answer to each passage. */
  passageAck?: string;
  post: string;
  /** Word budget per passage. */
  maxWords: number;
  /** Rewrite `[n]` inside passages as `(n)`, so that passage text cannot look like an identifier. */
  replaceNumbers: boolean;
  /** Apply the ftfy subset to the rendered prompt. */
  fixText: boolean;
  /** How the conversation is flattened for completion models (FastChat vicuna_v1.1 style). */
  conversation: { roles: [string, string]; sep: string; sep2: string; suffix: string };
  /** Completion budget asked from the model. */
  maxTokens: number;
}

const ALL: PromptTemplate[] = [rankvicunaV1, rankvicunaV0, rankgptChatV1, rationaleV1] as PromptTemplate[];

/** Every shipped template by version. */
export const PROMPT_TEMPLATES: Readonly<Record<string, PromptTemplate>> = Object.freeze(Object.fromEntries(ALL.map((t) => [t.version, t])));

/** The listwise template used when none is named. */
export const DEFAULT_TEMPLATE = "rankvicuna-v1";

/** A template by version, with a helpful error for unknown ones. */
export function getTemplate(version: string): PromptTemplate {
  const t = PROMPT_TEMPLATES[version];
  if (!t) throw new ConfigError(`unknown prompt template ${show(version)}; expected one of ${Object.keys(PROMPT_TEMPLATES).join(", ")}`);
  return t;
}

// Python's str.split() separators (differs from JS \s: includes \x1c-\x1f and \x85, excludes \ufeff).
const PY_WHITESPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** A passage as the template shows it: cleaned, cut to `maxWords` words, identifiers neutralised. */
export function passageContent(text: string, template: Pick<PromptTemplate, "maxWords" | "replaceNumbers">): string {
  const words = text.split("Title: Content: ").join("").split(PY_WHITESPACE).filter((w) => w !== "");
  const cut = words.slice(0, template.maxWords).join(" ");
  return template.replaceNumbers ? cut.replace(/\[(\d+)\]/g, "($1)") : cut;
}

function fill(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\{(num|query|rank|content)\}/g, (m, k: string) => (vars[k] === undefined ? m : String(vars[k])));
}

/** A rendered prompt: chat messages for chat APIs and the flat text for completion models and replay. */
export interface RenderedPrompt {
  messages: ChatMessage[];
  text: string;
}

/** Flatten chat messages the way FastChat's vicuna_v1.1 conversation does. */
export function flattenConversation(messages: readonly ChatMessage[], conv: PromptTemplate["conversation"]): string {
  let out = "";
  for (const m of messages) {
    if (m.role === "system") out += m.content + conv.sep;
    else if (m.role === "user") out += `${conv.roles[0]}: ${m.content}${conv.sep}`;
    else out += `${conv.roles[1]}: ${m.content}${conv.sep2}`;
  }
  return out + conv.suffix;
}

/** Render a listwise prompt for a window (passages numbered [1]..[n] in the window's order). */
export function renderPrompt(template: PromptTemplate, window: Pick<LabelWindow, "query" | "docs">): RenderedPrompt {
  const num = window.docs.length;
  if (num === 0) throw new ConfigError(`renderPrompt(${template.version}): the window has no documents`);
  const vars = { num, query: window.query };
  const passages = window.docs.map((d, i) => fill(template.passage, { rank: i + 1, content: passageContent(d.text, template) }));
  const messages: ChatMessage[] = [{ role: "system", content: template.system }];
  if (template.style === "single") {
    messages.push({ role: "user", content: `${fill(template.prefix, vars)}\n${passages.map((p) => `${p}\n`).join("")}${fill(template.post, vars)}` });
  } else {
    messages.push({ role: "user", content: fill(template.prefix, vars) }, { role: "assistant", content: template.prefixAck ?? "" });
    passages.forEach((p, i) => messages.push({ role: "user", content: p }, { role: "assistant", content: fill(template.passageAck ?? "", { rank: i + 1 }) }));
    messages.push({ role: "user", content: fill(template.post, vars) });
  }
  const text = flattenConversation(messages, template.conversation);
  if (!template.fixText) return { messages, text };
  return { messages: messages.map((m) => ({ role: m.role, content: fixText(m.content) })), text: fixText(text) };
}

/** Render the rationale prompt: the passages listed in the teacher's order. */
export function renderRationalePrompt(window: Pick<LabelWindow, "query" | "docs">, orderedIndices: readonly number[], version = "rationale-v1"): RenderedPrompt {
  const t = getTemplate(version);
  return renderPrompt(t, { query: window.query, docs: orderedIndices.map((i) => window.docs[i]) });
}
