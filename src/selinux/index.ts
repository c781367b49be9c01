// SELinux labelling of committed trees: the file_contexts family reader, the libselinux-exact
// matcher, finding a tree's policy, and the labeller the commit path and compose use.

export { parseFileContexts, parseSubstitutions, MAX_FC_FILE_BYTES, MAX_FC_LINES, MAX_CONTEXT_LENGTH } from './file-contexts.ts';
export type { FileContextSpec, PathSubstitution } from './file-contexts.ts';
export { FileContexts, pathKey } from './match.ts';
export type { FileContextsInput } from './match.ts';
export { loadPolicy, loadPolicyFromDirectory, loadPolicyFromCommit, hostTreeReader, commitTreeReader, parseSelinuxConfig } from './policy.ts';
export type { SePolicy, TreeReader, TreeEntry } from './policy.ts';
export { labelFor, labelValue, labelXattrs, SELINUX_XATTR } from './label.ts';
export type { LabelOptions } from './label.ts';
export { compileSpecRegex, RegexError, MAX_REGEX_LENGTH, MAX_REPEAT, MAX_NFA_NODES } from './regex.ts';
