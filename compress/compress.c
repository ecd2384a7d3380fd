/* placeholder until the module lands */
typedef int fs__placeholder;
