# SPDX-License-Identifier: GPL-2.0-only
# bash completion for dccctl.  Verbs and each verb's options come from
# dccctl's own help (its verb table), volumes from device-mapper.
_dccctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd=${COMP_WORDS[0]} verb=${COMP_WORDS[1]:-} words
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		words=$("$cmd" help 2>/dev/null | sed -n 's/^  \([a-z-]*\) .*/\1/p')
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		return
	fi
	case $prev in
	--data | --meta | --source | --socket | --output)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--role)
		mapfile -t COMPREPLY < <(compgen -W "owner replica" -- "$cur")
		return
		;;
	--to | --timeout | --count | --region-size | --uuid) return ;;
	--dir)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	esac
	if [[ $cur == -* ]]; then
		words=$("$cmd" help "$verb" 2>/dev/null | sed -n '1s/^usage: //p' | grep -o -- '--[a-z-]*')
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		return
	fi
	case $verb in
	help)
		words=$("$cmd" help 2>/dev/null | sed -n 's/^  \([a-z-]*\) .*/\1/p')
		;;
	dump-meta | check-meta)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	format-meta) return ;;
	*)
		# The first word after the verb is a volume; mode and wait take one more.
		local n=0 i
		for ((i = 2; i < COMP_CWORD; i++)); do
			[[ ${COMP_WORDS[i]} == -* ]] && continue
			case ${COMP_WORDS[i - 1]} in --to | --timeout | --count | --source | --socket | --dir | --output) continue ;; esac
			n=$((n + 1))
		done
		if ((n == 0)) && [[ $verb == up || $verb == down ]]; then
			words=$(cd /etc/dcc/volumes.d 2>/dev/null && for f in *.toml; do [ -e "$f" ] && echo "${f%.toml}"; done)
		elif ((n == 0)); then
			words=$(dmsetup ls --target dcc 2>/dev/null | awk '$1 != "No" {print $1}')
		elif [[ $verb == mode && n -eq 1 ]]; then
			words="sync async"
		elif [[ $verb == wait && n -eq 1 ]]; then
			words="paired hydrated in-sync split-brain role=owner role=replica owner="
		fi
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "${words:-}" -- "$cur")
}
complete -F _dccctl dccctl
