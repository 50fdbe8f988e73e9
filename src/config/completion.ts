// `etcd-monitor completion bash|zsh`: the scripts yargs generates (its completion-templates.js, which its
// package does not export), with the shell chosen by argument instead of by $SHELL. Both ask the program
// itself for the words (`etcd-monitor --get-yargs-completions <words so far>`), so subcommands and flags
// added later complete without a new script.

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

const BASH = `###-begin-etcd-monitor-completions-###
# etcd-monitor command completion for bash.
# Install: etcd-monitor completion bash > /etc/bash_completion.d/etcd-monitor
#      or: source <(etcd-monitor completion bash)    (in ~/.bashrc)
_etcd_monitor_completions()
{
    local cur_word args type_list
    cur_word="\${COMP_WORDS[COMP_CWORD]}"
    args=("\${COMP_WORDS[@]:0:COMP_CWORD+1}")
    type_list=$(etcd-monitor --get-yargs-completions "\${args[@]:1}" 2>/dev/null)
    COMPREPLY=( $(compgen -W "\${type_list}" -- "\${cur_word}") )
    return 0
}
complete -o bashdefault -o default -F _etcd_monitor_completions etcd-monitor
###-end-etcd-monitor-completions-###
`;

const ZSH = `#compdef etcd-monitor
###-begin-etcd-monitor-completions-###
# etcd-monitor command completion for zsh.
# Install: etcd-monitor completion zsh > "\${fpath[1]}/_etcd-monitor"
#      or: source <(etcd-monitor completion zsh)    (in ~/.zshrc, after compinit)
_etcd_monitor_completions()
{
  local reply
  local si=$IFS
  IFS=$'\\n' reply=($(etcd-monitor --get-yargs-completions "\${(@)words[2,CURRENT]}" 2>/dev/null))
  IFS=$si
  compadd -- $reply
}
# Autoloaded from $fpath as _etcd-monitor: complete now; sourced: register for etcd-monitor (as cobra does).
if [ "$funcstack[1]" = "_etcd-monitor" ]; then
  _etcd_monitor_completions "$@"
else
  compdef _etcd_monitor_completions etcd-monitor
fi
###-end-etcd-monitor-completions-###
`;

/** The completion script for `shell`. */
export function completionScript(shell: CompletionShell): string {
  return shell === 'bash' ? BASH : ZSH;
}
